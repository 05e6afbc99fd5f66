/**
 * HTTPS GET: the HTTP check over TLS, with SNI (default: the Host header's name, when it is a name),
 * optional certificate verification (chain, validity and host name) against the system's or a given CA,
 * and keep-alive (a full handshake per probe costs about 0.9 ms of CPU; see bench/monitor.ts).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { type HttpSpec, hostHeader, httpFields, httpProbe, sniFromHost } from './http-get.ts';
import { Stopwatch } from './net-util.ts';
import { errorText, parseWith, sameSpec } from './spec.ts';
import type { CheckKind } from './types.ts';

const schema = z.strictObject({
  ...httpFields,
  /** TLS server name to send; default: the Host header's name. */
  sni: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, 'expected a DNS name')
    .optional(),
  /** Verify the certificate chain, validity and name. Default false (as keepalived's SSL_GET). */
  verifyCertificate: z.boolean().default(false),
  /** PEM file of the CA(s) to verify against instead of the system's. */
  caFile: z.string().min(1).optional(),
});

export interface HttpsSpec extends HttpSpec {
  sni?: string | undefined;
  verifyCertificate: boolean;
  caFile?: string | undefined;
}

export const https: CheckKind<HttpsSpec> = {
  kind: 'https',
  parse(spec) {
    return parseWith(schema, spec);
  },
  sameConfig: sameSpec,
  async run(target, spec, context) {
    let ca: Buffer | undefined;
    if (spec.verifyCertificate && spec.caFile !== undefined) {
      try {
        ca = await readFile(spec.caFile);
      } catch (err) {
        return new Stopwatch(context.drivers.clock).fail(`caFile ${spec.caFile}: ${errorText(err)}`);
      }
    }
    const servername = spec.sni ?? sniFromHost(hostHeader(spec, target, 443));
    return httpProbe(target, spec, context, {
      servername,
      verify: spec.verifyCertificate,
      ca,
      caFile: spec.caFile,
    });
  },
};
