import type { Journal } from '../../../firmware/journal/api.ts';
import type { JournalOptions } from '../../../firmware/journal/service.ts';
import { startJournal } from '../../../firmware/journal/service.ts';
import { LinuxClock } from '../../../hal/clock/linux.ts';
import { TEST_KEY } from './tmp.ts';

/** Fast timing for tests on loopback: a dead peer is noticed in half a second. */
export const FAST = { pingEveryMs: 50, deadAfterMs: 500, rtoMs: 150, ackTimeoutMs: 800 } as const;

export interface NodeSpec {
  dir: string;
  node: 'a' | 'b';
  /** Port to listen on (0: any). */
  listenPort?: number;
  /** The peer's port (the dialling node, 'a', needs it). */
  peerPort?: number;
  key?: Buffer;
  extra?: Partial<JournalOptions>;
  logs?: string[];
}

/** Starts one journal on loopback with a real clock. `logs` collects its warnings and errors. */
export function startNode(spec: NodeSpec): Promise<Journal> {
  const peer = spec.node === 'a' ? 'b' : 'a';
  return startJournal({
    dir: spec.dir,
    node: spec.node,
    peer: { node: peer, host: '127.0.0.1', ...(spec.peerPort === undefined ? {} : { port: spec.peerPort }) },
    listen: { host: '127.0.0.1', port: spec.listenPort ?? 0 },
    clusterKey: spec.key ?? TEST_KEY,
    clock: new LinuxClock(),
    timing: FAST,
    log: (level, message) => {
      if (level !== 'info') spec.logs?.push(`${level}: ${message}`);
    },
    ...spec.extra,
  });
}

/** Polls `check` every 10 ms until it returns true; rejects after `timeoutMs` with `what`. */
export async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Everything the journal replicates, as plain data, for comparing two nodes. */
export function replicatedState(j: Journal): unknown {
  return {
    head: j.status().head,
    health: j.health.all(),
    config: j.config.versions(1000),
    candidate: j.config.candidate(),
    facts: j.cluster.facts(),
    events: j.events.list({ limit: 100_000 }),
  };
}
