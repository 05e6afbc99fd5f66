/**
 * The forwarding service: reads the desired state from its source, validates it, and has the data plane
 * apply it; again on every change, one apply at a time, the latest state winning (changes that arrive
 * while an apply runs are folded into the next one). A definition that does not validate, or that the
 * kernel refuses, is reported and skipped: the data plane keeps what it had. With lc/wlc NAT services
 * and a connection reader, it re-weights their slot tables every `reweightMs` (reweight.ts).
 */
import type { Clock, Timer } from '../../hal/clock/types.ts';
import type { ConnectionReader } from './connections.ts';
import { ForwardError } from './errors.ts';
import { type DesiredForwarding, parseDesired, serverKey } from './model.ts';
import type { ApplyResult, DataPlane, WeightOverrides } from './plane.ts';
import { type ActiveConnections, needsReweighting, reweight } from './reweight.ts';
import type { ForwardingSource } from './source.ts';

export interface ForwardServiceOptions {
  source: ForwardingSource;
  plane: DataPlane;
  /** Told about every definition or apply that failed (the data plane was left as it was). */
  onError?: (err: ForwardError) => void;
  onApplied?: (result: ApplyResult, desired: DesiredForwarding) => void;
  /** lc/wlc re-weighting: needs both. */
  connections?: ConnectionReader;
  clock?: Clock;
  reweightMs?: number;
}

export interface ForwardStatus {
  /** The desired state the data plane carries now. */
  readonly applied: DesiredForwarding | undefined;
  readonly lastError: ForwardError | undefined;
  readonly applies: number;
}

export interface ForwardService {
  /** Resolves once every change seen so far has been applied or refused. */
  settled(): Promise<void>;
  status(): ForwardStatus;
  /** Unsubscribes, stops the re-weighting timer, waits for an apply in flight. Leaves the kernel as is. */
  close(): Promise<void>;
}

export function startForwarding(options: ForwardServiceOptions): ForwardService {
  const { source, plane } = options;
  const controller = new AbortController();
  let applied: DesiredForwarding | undefined;
  let lastError: ForwardError | undefined;
  let applies = 0;
  let pending = false;
  let running: Promise<void> | undefined;
  let weights: WeightOverrides = new Map();
  let timer: Timer | undefined;
  let closed = false;

  const fail = (err: unknown): void => {
    const wrapped = ForwardError.is(err)
      ? err
      : new ForwardError('FORWARD_APPLY_FAILED', `forwarding: ${err instanceof Error ? err.message : err}`, {
          cause: err,
        });
    lastError = wrapped;
    options.onError?.(wrapped);
  };

  const once = async (): Promise<void> => {
    let desired: DesiredForwarding;
    try {
      desired = parseDesired(await source.current());
    } catch (err) {
      fail(err);
      return;
    }
    try {
      const result = await plane.apply(desired, { signal: controller.signal, weights });
      applied = desired;
      applies += 1;
      lastError = undefined;
      options.onApplied?.(result, desired);
    } catch (err) {
      if (!closed) fail(err);
    }
  };

  const kick = (): Promise<void> => {
    pending = true;
    if (running === undefined) {
      running = (async () => {
        while (pending && !closed) {
          pending = false;
          await once();
        }
        running = undefined;
      })();
    }
    return running;
  };

  // The last reading, for the close-rate estimate: open connections, and the per-server counters.
  let lastActive: ActiveConnections | undefined;
  let lastOpened = new Map<string, Map<string, number>>();

  const reweightTick = async (): Promise<void> => {
    const reader = options.connections;
    const now = applied;
    if (reader === undefined || now === undefined || !needsReweighting(now) || closed) return;
    try {
      const active = await reader.activeConnections(now, { signal: controller.signal });
      const counters = await plane.counters({ signal: controller.signal });
      const openedTotal = new Map<string, Map<string, number>>();
      const opened = new Map<string, Map<string, number>>();
      for (const c of counters.services) {
        const s = now.services.find((x) => x.name === c.name);
        if (s === undefined) continue;
        const totals = new Map<string, number>();
        const deltas = new Map<string, number>();
        c.servers.forEach((rc, i) => {
          const r = s.servers[i];
          if (r === undefined) return;
          const key = serverKey(s, r);
          totals.set(key, rc.connections);
          deltas.set(key, Math.max(0, rc.connections - (lastOpened.get(c.name)?.get(key) ?? rc.connections)));
        });
        openedTotal.set(c.name, totals);
        opened.set(c.name, deltas);
      }
      weights = reweight(now, active, lastActive === undefined ? undefined : { active: lastActive, opened });
      lastActive = active;
      lastOpened = openedTotal;
      await kick();
    } catch (err) {
      if (!closed) fail(err);
    }
  };

  const arm = (): void => {
    const { clock, reweightMs, connections } = options;
    if (clock === undefined || connections === undefined || reweightMs === undefined || closed) return;
    timer = clock.setTimer(reweightMs, () => {
      void reweightTick().finally(arm);
    });
  };

  const unsubscribe = source.subscribe(() => {
    void kick();
  });
  void kick();
  arm();

  return {
    settled: async () => {
      while (running !== undefined) await running;
    },
    status: () => ({ applied, lastError, applies }),
    close: async () => {
      if (closed) return;
      closed = true;
      unsubscribe();
      timer?.cancel();
      controller.abort(new ForwardError('FORWARD_CLOSED', 'the forwarding service was closed'));
      await running;
    },
  };
}
