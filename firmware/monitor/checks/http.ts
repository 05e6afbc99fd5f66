/** HTTP GET (or HEAD): expected status codes, optional body regex or digest, Host header, keep-alive. */
import { z } from 'zod';
import { type HttpSpec, httpFields, httpProbe } from './http-get.ts';
import { parseWith, sameSpec } from './spec.ts';
import type { CheckKind } from './types.ts';

const schema = z.strictObject(httpFields);

export const http: CheckKind<HttpSpec> = {
  kind: 'http',
  parse: (spec) => parseWith(schema, spec),
  sameConfig: sameSpec,
  run: (target, spec, context) => httpProbe(target, spec, context, undefined),
};
