/** HTTP GET (or HEAD): expected status codes, optional body regex or digest, Host header, keep-alive. */
import { z } from 'zod';
import { type HttpSpec, httpFields, httpProbe } from './http-get.ts';
import { parseWith, sameSpec } from './spec.ts';
import type { CheckKind } from './types.ts';

const schema = z.strictObject({
  ...httpFields,
  /**
   * Keep the connection open for the next probe instead of a new one each time (Envoy's default; off as
   * in keepalived and HAProxy, since a probe on an old connection cannot see that the server stopped
   * accepting new ones).
   */
  keepAlive: z.boolean().default(false),
});

export const http: CheckKind<HttpSpec> = {
  kind: 'http',
  parse: (spec) => parseWith(schema, spec),
  sameConfig: sameSpec,
  run: (target, spec, context) => httpProbe(target, spec, context, undefined),
};
