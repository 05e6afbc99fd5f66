/**
 * External script (as mon and ldirectord run them): exit code 0 is up, anything else down. The target is
 * in the environment (TANDEM_SERVICE, TANDEM_SERVER, TANDEM_ADDRESS, TANDEM_PORT) and may be put in the
 * arguments with {service}, {server}, {address}, {port}. At the timeout the whole process group gets
 * SIGTERM, then SIGKILL after `killGraceMs` (process.ts), and the probe counts as a failure.
 */
import { z } from 'zod';
import { describeOutcome, runProgram } from '../process.ts';
import { Stopwatch } from './net-util.ts';
import { fillTemplate, parseWith, sameSpec } from './spec.ts';
import type { CheckKind } from './types.ts';

const schema = z.strictObject({
  /** Absolute path of the program. */
  path: z.string().regex(/^\//, 'expected an absolute path'),
  args: z.array(z.string()).default([]),
  /** Extra environment variables. */
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.string())
    .default({}),
  /** From SIGTERM to SIGKILL when the script overruns its timeout. */
  killGraceMs: z.number().int().min(0).max(60_000).default(1000),
});

export type ScriptSpec = z.output<typeof schema>;

export const script: CheckKind<ScriptSpec> = {
  kind: 'script',
  runsProgram: true,
  parse: (spec) => parseWith(schema, spec),
  sameConfig: sameSpec,
  async run(target, spec, { signal, drivers }) {
    const watch = new Stopwatch(drivers.clock);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    Object.assign(env, spec.env, {
      TANDEM_SERVICE: target.service,
      TANDEM_SERVER: target.server,
      TANDEM_ADDRESS: target.address,
      TANDEM_PORT: String(target.port),
    });
    const argv = [spec.path, ...spec.args.map((a) => fillTemplate(a, target))];
    const outcome = await runProgram(argv, {
      env,
      clock: drivers.clock,
      killGraceMs: spec.killGraceMs,
      signal,
    });
    if (outcome.code === 0 && !outcome.stopped) return watch.ok();
    const how = outcome.stopped ? `timed out (${describeOutcome(outcome)})` : describeOutcome(outcome);
    return watch.fail(`script ${spec.path}: ${how}`);
  },
};
