/**
 * The appliance's service table (the process architecture: cluster first, everything else once the
 * cluster is ready) and how each entry point is started. An entry point that does not exist yet is
 * skipped with one warning, with whatever needs it, so the supervisor runs today with what exists.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { controlRequest } from '../cluster/control.ts';
import { REPO_ROOT } from './bundle.ts';
import { SupervisorError } from './errors.ts';
import type { ServiceSpec } from './types.ts';

export interface LaunchContext {
  /** `--board … [--prefix … --node …]`: the board options every entry point takes. */
  readonly boardArgs: readonly string[];
  /** The node's provisioning file (the cluster's process configuration). */
  readonly provision: string | undefined;
  /** The cluster's control socket. */
  readonly clusterSocket: string;
}

export interface ServiceEntry extends ServiceSpec {
  /** The entry point, relative to the repository root. */
  readonly entry: string;
  /** Bundle it once at start (see bundle.ts); off where a module finds files relative to itself. */
  readonly bundle: boolean;
  /** Its arguments after the entry point; throws SupervisorError when something it needs is missing. */
  args(ctx: LaunchContext): string[];
  /** A liveness probe while it runs (false: it does not answer). */
  probe?(ctx: LaunchContext): Promise<boolean>;
}

const boardOnly = (ctx: LaunchContext): string[] => [...ctx.boardArgs];

/** True when the cluster answers `status` on its control socket within a second. */
export async function clusterAnswers(socket: string): Promise<boolean> {
  try {
    const answer = (await controlRequest(socket, { op: 'status' }, 1000)) as { ok?: unknown };
    return answer.ok !== undefined;
  } catch {
    return false;
  }
}

const dependent = (name: string, critical: boolean): ServiceEntry => ({
  name,
  entry: `firmware/${name}/main.ts`,
  critical,
  needs: ['cluster'],
  escalation: critical ? 'step-down' : 'none',
  bundle: false,
  args: boardOnly,
});

export const APPLIANCE_SERVICES: readonly ServiceEntry[] = [
  {
    name: 'cluster',
    entry: 'firmware/cluster/main.ts',
    critical: true,
    needs: [],
    escalation: 'stop-watchdog',
    // Its SIGTERM handler waits up to 5 s for the graceful leave before it closes.
    stopTimeoutMs: 8000,
    bundle: true,
    args: (ctx) => {
      if (ctx.provision === undefined) {
        throw new SupervisorError(
          'SUPERVISOR_INVALID_SPEC',
          'the cluster needs the node provisioning file: --provision <file>',
        );
      }
      return ['--config', ctx.provision, ...ctx.boardArgs];
    },
    probe: (ctx) => clusterAnswers(ctx.clusterSocket),
  },
  dependent('forward', true),
  dependent('monitor', true),
  dependent('console', false),
  dependent('metrics', false),
  dependent('panel', false),
];

/**
 * The entries to run: those named in `only` (all when undefined) whose entry point exists under `root`.
 * A missing entry point is skipped with one `warn`, and so is everything that needs a skipped service.
 * Naming an unknown service, or one without what it needs, is SUPERVISOR_INVALID_SPEC.
 */
export function selectServices(
  table: readonly ServiceEntry[],
  options: { only?: readonly string[]; root?: string; warn: (line: string) => void },
): ServiceEntry[] {
  const root = options.root ?? REPO_ROOT;
  const only = options.only;
  if (only !== undefined) {
    for (const name of only) {
      if (!table.some((e) => e.name === name)) {
        throw new SupervisorError(
          'SUPERVISOR_INVALID_SPEC',
          `unknown service ${name}: expected some of ${table.map((e) => e.name).join(', ')}`,
        );
      }
    }
    for (const e of table.filter((x) => only.includes(x.name))) {
      const missing = e.needs.filter((n) => !only.includes(n));
      if (missing.length > 0) {
        throw new SupervisorError(
          'SUPERVISOR_INVALID_SPEC',
          `service ${e.name} needs ${missing.join(', ')}: add it to the list`,
        );
      }
    }
  }
  const chosen: ServiceEntry[] = [];
  for (const e of table) {
    if (only !== undefined && !only.includes(e.name)) continue;
    if (!existsSync(join(root, e.entry))) {
      options.warn(`skipping ${e.name}: ${e.entry} does not exist (yet)`);
      continue;
    }
    const skippedNeed = e.needs.find((n) => !chosen.some((c) => c.name === n));
    if (skippedNeed !== undefined) {
      options.warn(`skipping ${e.name}: it needs ${skippedNeed}, which is not running`);
      continue;
    }
    chosen.push(e);
  }
  return chosen;
}
