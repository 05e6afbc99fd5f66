/**
 * Maintenance: while the file or directory at `path` exists the server is in maintenance (down, drained
 * as its service says). `path` may name the target with {service}, {server}, {address}, {port}, so one
 * directory of flag files covers a farm (ldirectord's maintenancedir). Acts on the first probe by default.
 */
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { Stopwatch } from './net-util.ts';
import { errorText, fillTemplate, parseWith, sameSpec } from './spec.ts';
import type { CheckKind } from './types.ts';

const schema = z.strictObject({
  path: z.string().regex(/^\//, 'expected an absolute path'),
});

export type MaintenanceSpec = z.output<typeof schema>;

export const maintenance: CheckKind<MaintenanceSpec> = {
  kind: 'maintenance',
  defaults: { rise: 1, fall: 1 },
  parse: (spec) => parseWith(schema, spec),
  sameConfig: sameSpec,
  async run(target, spec, { drivers }) {
    const watch = new Stopwatch(drivers.clock);
    const path = fillTemplate(spec.path, target);
    try {
      const found = await stat(path);
      return watch.fail(`maintenance: ${found.isDirectory() ? 'directory' : 'file'} ${path} exists`);
    } catch (err) {
      const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
      if (code === 'ENOENT' || code === 'ENOTDIR') return watch.ok();
      return watch.fail(`maintenance: cannot tell whether ${path} exists: ${errorText(err)}`);
    }
  },
};
