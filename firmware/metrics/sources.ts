/**
 * Where the collector's figures come from. Each source is one async read that takes an abort signal
 * (aborted when the collector's time limit for it passes); a missing source is simply not shown.
 */
import { controlRequest } from '../cluster/control.ts';
import type { ServerHealth } from '../journal/health.ts';
import {
  type ClusterView,
  type JournalStatusView,
  type JournalView,
  parseClusterAnswer,
  parseSupervisorAnswer,
  type ServerHealthView,
  type SupervisorView,
  type TrafficView,
} from './views.ts';

export const SOURCE_NAMES = ['cluster', 'supervisor', 'forward', 'journal'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

export interface SourceCall {
  readonly signal: AbortSignal;
  /** How long the collector waits for this read. */
  readonly timeoutMs: number;
}

export interface MetricsSources {
  /** The cluster control socket's status. */
  readonly cluster?: (call: SourceCall) => Promise<ClusterView>;
  /** The supervisor control socket's status. */
  readonly supervisor?: (call: SourceCall) => Promise<SupervisorView>;
  /** The forwarding counters (kernel state). */
  readonly forward?: (call: SourceCall) => Promise<TrafficView>;
  /** Replication status and the monitor's server health rows. */
  readonly journal?: (call: SourceCall) => Promise<JournalView>;
}

/** `{"op":"status"}` on the cluster control socket. */
export function clusterSocketSource(path: string): (call: SourceCall) => Promise<ClusterView> {
  return async ({ timeoutMs }) => parseClusterAnswer(await controlRequest(path, { op: 'status' }, timeoutMs));
}

/** `{"op":"status"}` on the supervisor control socket (same JSON-lines protocol as the cluster's). */
export function supervisorSocketSource(path: string): (call: SourceCall) => Promise<SupervisorView> {
  return async ({ timeoutMs }) =>
    parseSupervisorAnswer(await controlRequest(path, { op: 'status' }, timeoutMs));
}

/** The read side of a journal (local or remote) the journal source needs; either face may be async. */
export interface JournalReads {
  status(): JournalStatusView | Promise<JournalStatusView>;
  readonly health: { all(): readonly ServerHealth[] | Promise<readonly ServerHealth[]> };
}

function field(data: unknown, key: string): unknown {
  return typeof data === 'object' && data !== null && !Array.isArray(data)
    ? (data as Record<string, unknown>)[key]
    : undefined;
}

/** Real-server rows (`<service>/<server>`); reserved `@…` records are left out. */
export function serverHealthViews(rows: readonly ServerHealth[]): ServerHealthView[] {
  const out: ServerHealthView[] = [];
  for (const row of rows) {
    if (row.server.startsWith('@')) continue;
    const slash = row.server.indexOf('/');
    if (slash <= 0) continue;
    const address = field(row.data, 'address');
    const weight = field(row.data, 'weight');
    out.push({
      service: row.server.slice(0, slash),
      server: row.server.slice(slash + 1),
      state: row.state,
      detail: row.detail,
      address: typeof address === 'string' ? address : undefined,
      weight: typeof weight === 'number' ? weight : undefined,
    });
  }
  return out;
}

export function journalSource(journal: JournalReads): (call: SourceCall) => Promise<JournalView> {
  return async () => {
    const [status, rows] = await Promise.all([journal.status(), journal.health.all()]);
    return {
      status: {
        role: status.role,
        epoch: status.epoch,
        head: status.head,
        floor: status.floor,
        recovering: status.recovering,
        relation: status.relation,
        lag: status.lag ?? null,
      },
      servers: serverHealthViews(rows),
    };
  };
}
