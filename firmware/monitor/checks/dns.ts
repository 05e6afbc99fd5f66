/**
 * DNS: one query over UDP to the server; the answer must carry our id and question, the expected
 * response code and at least `minAnswers` records of the asked type, including every `expectAnswers`.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { z } from 'zod';
import {
  decodeMessage,
  encodeName,
  encodeQuery,
  RCODES,
  RECORD_TYPES,
  rcodeName,
  typeName,
} from './dns-codec.ts';
import { Stopwatch, socketReason, whileRunning } from './net-util.ts';
import { parseWith, sameSpec } from './spec.ts';
import type { CheckKind, ProbeResult } from './types.ts';

const dnsName = z.string().refine((name) => {
  try {
    encodeName(name);
    return /^[A-Za-z0-9_.-]*$/.test(name) && name.length > 0;
  } catch {
    return false;
  }
}, 'expected a DNS name (labels of 1..63 letters, digits, "-" or "_", at most 255 bytes)');

const schema = z.strictObject({
  /** Query this port instead of 53. */
  port: z.number().int().min(1).max(65535).default(53),
  name: dnsName,
  type: z
    .enum(Object.keys(RECORD_TYPES) as [keyof typeof RECORD_TYPES, ...(keyof typeof RECORD_TYPES)[]])
    .default('A'),
  recursion: z.boolean().default(true),
  expectRcode: z.enum(RCODES).default('NOERROR'),
  /** Record data that must be among the answers of the asked type ("192.0.2.1", "mail.example.", ...). */
  expectAnswers: z.array(z.string().min(1)).default([]),
  /** Fewest answers of the asked type; default 1 when expecting NOERROR, else 0. */
  minAnswers: z.number().int().min(0).max(1000).optional(),
});

export type DnsSpec = z.output<typeof schema>;

const normalise = (data: string): string => (data.endsWith('.') ? data.slice(0, -1) : data).toLowerCase();

export const dns: CheckKind<DnsSpec> = {
  kind: 'dns',
  parse: (spec) => parseWith(schema, spec),
  sameConfig: sameSpec,
  async run(target, spec, { signal, drivers }) {
    const watch = new Stopwatch(drivers.clock);
    const id = randomInt(0, 0x10000);
    const type = RECORD_TYPES[spec.type];
    const where = `dns ${spec.name}/${spec.type} at ${target.address}:${spec.port}`;
    const socket = createSocket(isIP(target.address) === 6 ? 'udp6' : 'udp4');
    const query = encodeQuery({ id, name: spec.name, type, recursionDesired: spec.recursion });
    try {
      return await whileRunning(
        signal,
        () => socket.close(),
        () =>
          new Promise<ProbeResult>((resolve) => {
            socket.on('error', (err) => resolve(watch.fail(`${where}: ${socketReason(err, signal)}`)));
            socket.on('close', () =>
              resolve(watch.fail(`${where}: ${signal.aborted ? 'timed out' : 'socket closed'}`)),
            );
            socket.on('message', (buf, from) => {
              if (from.address !== target.address || from.port !== spec.port) return;
              const decoded = decodeMessage(buf);
              if (!decoded.ok) return resolve(watch.fail(`${where}: malformed answer (${decoded.error})`));
              const m = decoded.message;
              // Not the answer to this query (late answer to an earlier one, or spoofed): keep waiting.
              if (!m.response || m.id !== id || m.questions[0]?.name.toLowerCase() !== normalise(spec.name))
                return;
              resolve(
                judge(
                  m.rcode,
                  m.answers.filter((a) => a.type === type).map((a) => a.data),
                ),
              );
            });
            socket.send(query, spec.port, target.address);
          }),
      );
    } finally {
      try {
        socket.close();
      } catch {
        // already closed by the abort
      }
    }

    function judge(rcode: number, answers: string[]): ProbeResult {
      if (rcodeName(rcode) !== spec.expectRcode) {
        return watch.fail(`${where}: answered ${rcodeName(rcode)}, expected ${spec.expectRcode}`);
      }
      const min = spec.minAnswers ?? (spec.expectRcode === 'NOERROR' ? 1 : 0);
      if (answers.length < min) {
        return watch.fail(`${where}: ${answers.length} ${typeName(type)} answers, expected at least ${min}`);
      }
      const have = new Set(answers.map(normalise));
      const missing = spec.expectAnswers.filter((e) => !have.has(normalise(e)));
      if (missing.length > 0) {
        return watch.fail(`${where}: answers ${answers.join(', ') || '(none)'} lack ${missing.join(', ')}`);
      }
      return watch.ok(answers.join(', '));
    }
  },
};
