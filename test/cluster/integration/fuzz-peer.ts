/**
 * A fake peer for the frame tests, run inside B's namespace in place of B's cluster process: it opens
 * B's end of the serial cable and binds B's heartbeat address, sends valid STANDBY heartbeats every
 * 20 ms on both links, and in between what an attacker or a bad cable would:
 *
 *   --mode precise   one forged (wrong key), one garbled (a flipped bit) and one replayed frame per link
 *   --mode fuzz      --frames N random, mutated, truncated, forged, replayed and header-mangled frames
 *                    per link (a seeded mix), paced so the receiver's socket is not simply overrun
 *
 * Prints `{ "sent": { <kind>: n, ... }, "valid": n }` as its last stdout line and exits 0.
 */
import { createHmac } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  encodeHeartbeat,
  HEADER_BYTES,
  HEARTBEAT_PAYLOAD_BYTES,
  MAC_BYTES,
} from '../../../firmware/cluster/codec.ts';
import { crc32 } from '../../../firmware/cluster/crc32.ts';
import type { Heartbeat } from '../../../firmware/cluster/types.ts';
import { LinuxSerialDriver } from '../../../hal/serial/linux.ts';
import { Rng } from '../../../hal/sim/rng.ts';

export type FuzzKind =
  | 'random'
  | 'garbled'
  | 'truncated'
  | 'forged'
  | 'replayed'
  | 'bad-version'
  | 'bad-payload'
  | 'bad-length'
  | 'magic-noise';

const KINDS: readonly FuzzKind[] = [
  'random',
  'garbled',
  'truncated',
  'forged',
  'replayed',
  'bad-version',
  'bad-payload',
  'bad-length',
  'magic-noise',
];

const MAC_AT = HEADER_BYTES + HEARTBEAT_PAYLOAD_BYTES;

/** Recomputes the HMAC (with `key`, when given) and the CRC of a mangled frame. */
function reseal(frame: Buffer, key?: Uint8Array): Buffer {
  if (key) createHmac('sha256', key).update(frame.subarray(0, MAC_AT)).digest().copy(frame, MAC_AT);
  frame.writeUInt32BE(crc32(frame, 0, MAC_AT + MAC_BYTES), MAC_AT + MAC_BYTES);
  return frame;
}

export class Mutator {
  private readonly sentFrames: Buffer[] = [];

  constructor(
    private readonly rng: Rng,
    private readonly key: Uint8Array,
    private readonly template: () => Heartbeat,
  ) {}

  remember(frame: Buffer): void {
    this.sentFrames.push(frame);
    if (this.sentFrames.length > 64) this.sentFrames.shift();
  }

  private recent(): Buffer {
    return Buffer.from(
      this.sentFrames.length > 0
        ? this.rng.pick(this.sentFrames)
        : encodeHeartbeat(this.template(), this.key),
    );
  }

  make(kind: FuzzKind): Buffer {
    const r = this.rng;
    switch (kind) {
      case 'random':
        return Buffer.from(Array.from({ length: r.int(1, 120) }, () => r.int(0, 255)));
      case 'garbled': {
        const f = this.recent();
        for (let i = r.int(1, 4); i > 0; i--) {
          const at = r.int(0, f.length - 1);
          f[at] = (f[at] as number) ^ (1 << r.int(0, 7));
        }
        return f;
      }
      case 'truncated':
        return this.recent().subarray(0, r.int(1, 69));
      case 'forged': {
        const wrong = Buffer.from(Array.from({ length: 32 }, () => r.int(0, 255)));
        return encodeHeartbeat({ ...this.template(), role: 'ACTIVE', epoch: 0xffff_fff0 }, wrong);
      }
      case 'replayed':
        return this.recent();
      case 'bad-version': {
        const f = this.recent();
        f[2] = r.int(2, 255);
        return reseal(f);
      }
      case 'bad-payload': {
        const f = this.recent();
        f[HEADER_BYTES + 16] = r.int(7, 255); // no such role
        return reseal(f, this.key);
      }
      case 'bad-length': {
        const f = this.recent();
        f.writeUInt16BE(r.pick([0, 12, 40, 64, 65, 9000]), 4);
        return f;
      }
      case 'magic-noise':
        return Buffer.concat([
          Buffer.from([0x54, 0x44]),
          Buffer.from(Array.from({ length: r.int(0, 80) }, () => r.int(0, 255))),
        ]);
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      key: { type: 'string' },
      serial: { type: 'string' },
      baud: { type: 'string', default: '115200' },
      local: { type: 'string' },
      peer: { type: 'string' },
      port: { type: 'string' },
      mode: { type: 'string', default: 'precise' },
      frames: { type: 'string', default: '100000' },
      seed: { type: 'string', default: '1' },
      boot: { type: 'string', default: '1000' },
      'node-id': { type: 'string', default: '2' },
    },
    strict: true,
  });
  if (!values.key || !values.serial || !values.local || !values.peer || !values.port) {
    throw new TypeError(
      'usage: fuzz-peer --key hex --serial path --local ip --peer ip --port n [--mode precise|fuzz]',
    );
  }
  const key = Buffer.from(values.key, 'hex');
  const port = Number(values.port);
  const boot = Number(values.boot);
  const nodeId = Number(values['node-id']);
  const rng = new Rng(Number(values.seed));
  let seq = 0;
  const hb = (): Heartbeat => ({
    nodeId,
    boot,
    seq,
    epoch: 0,
    role: 'STANDBY',
    priority: 100,
    health: 100,
    flags: { yield: false, leaving: false, wantActive: false },
    sentAt: performance.now(),
  });
  const serial = await new LinuxSerialDriver().open(values.serial, { baudRate: Number(values.baud) });
  const udp = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind({ address: values.local, port }, () => resolve());
  });
  const peer = values.peer;
  const sendUdp = (b: Buffer): Promise<void> =>
    new Promise((resolve) => udp.send(b, port, peer, () => resolve()));

  // One writer on the serial port: heartbeats jump the queue.
  const queue: Buffer[] = [];
  let writing: Promise<void> | undefined;
  const pump = (): Promise<void> => {
    writing ??= (async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) await serial.write(next);
      writing = undefined;
    })();
    return writing;
  };
  const mutators = { serial: new Mutator(rng.fork(), key, hb), udp: new Mutator(rng.fork(), key, hb) };
  let valid = 0;
  const beat = (): void => {
    seq += 1;
    const frame = encodeHeartbeat(hb(), key);
    mutators.serial.remember(frame);
    mutators.udp.remember(frame);
    queue.unshift(frame);
    void pump();
    void sendUdp(frame);
    valid += 1;
  };
  const timer = setInterval(beat, 20);
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const sent: Record<string, number> = {};
  const count = (k: string, n = 1): void => {
    sent[k] = (sent[k] ?? 0) + n;
  };

  await sleep(400);
  if (values.mode === 'precise') {
    for (const kind of ['forged', 'garbled', 'replayed'] as const) {
      // A garbled frame must not keep the magic intact with a valid CRC by chance: flip a payload bit.
      const f =
        kind === 'garbled' ? encodeHeartbeat({ ...hb(), seq: seq + 1000 }, key) : mutators.udp.make(kind);
      if (kind === 'garbled') f[HEADER_BYTES + 10] = (f[HEADER_BYTES + 10] as number) ^ 0x01;
      queue.push(Buffer.from(f));
      await pump();
      await sendUdp(f);
      count(kind);
      await sleep(50);
    }
  } else {
    const total = Number(values.frames);
    const batch = 200;
    for (let done = 0; done < total; done += batch) {
      const n = Math.min(batch, total - done);
      const chunk: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const kind = rng.pick(KINDS);
        chunk.push(mutators.serial.make(kind));
        await sendUdp(mutators.udp.make(kind));
        count(kind);
      }
      queue.push(Buffer.concat(chunk));
      await pump();
      await sleep(8); // ~25,000 frames a second per link
    }
  }
  await sleep(400);
  clearInterval(timer);
  await pump();
  await serial.close();
  udp.close();
  process.stdout.write(`${JSON.stringify({ sent, valid })}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
