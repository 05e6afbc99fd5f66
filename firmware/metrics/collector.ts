/**
 * One reading of every source, bounded in time: each source gets `timeoutMs`, and one that fails or is
 * late is reported as down in the reading (never as an error of the reading). Readings that overlap share
 * one pass over the sources, so counters are carried forward once per pass.
 */
import type { Clock } from '../../hal/clock/types.ts';
import { MonotonicCounters, TransitionTally } from './counting.ts';
import { MetricsError } from './errors.ts';
import { type MetricsSources, SOURCE_NAMES, type SourceCall, type SourceName } from './sources.ts';
import type { ClusterView, JournalView, SupervisorView, TrafficView } from './views.ts';

export interface SourceState {
  readonly up: boolean;
  /** How long the read took (until the time limit, for one that did not answer). */
  readonly ms: number;
  readonly error?: string;
}

/** What /status.json serves and the exposition is built from. Counters are already made monotonic. */
export interface Snapshot {
  /** Wall-clock time of the reading (ISO 8601), for people. */
  readonly at: string;
  readonly node: string;
  readonly sources: Partial<Record<SourceName, SourceState>>;
  readonly cluster?: ClusterView;
  readonly supervisor?: SupervisorView;
  readonly traffic?: TrafficView;
  readonly journal?: JournalView;
  /** Role transitions seen since this process started (including the cluster's recent history). */
  readonly transitions: Record<string, number>;
}

export interface CollectorOptions {
  readonly sources: MetricsSources;
  readonly clock: Clock;
  /** The appliance's name, shown on the page (`a`, `b`, a host name). */
  readonly node: string;
  /** Per-source time limit; default 1000 ms. */
  readonly timeoutMs?: number;
}

const text = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class Collector {
  private readonly counters = new MonotonicCounters();
  private readonly tally = new TransitionTally();
  private inFlight: Promise<Snapshot> | undefined;

  constructor(private readonly options: CollectorOptions) {}

  /** A fresh reading; a call while one runs gets that one. Never rejects. */
  collect(): Promise<Snapshot> {
    this.inFlight ??= this.pass().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async pass(): Promise<Snapshot> {
    const { sources } = this.options;
    const sourceStates: Partial<Record<SourceName, SourceState>> = {};
    const read = async <T>(name: SourceName, fn: ((call: SourceCall) => Promise<T>) | undefined) => {
      if (fn === undefined) return undefined;
      const started = this.options.clock.now();
      try {
        const value = await this.bounded(name, fn);
        sourceStates[name] = { up: true, ms: this.options.clock.now() - started };
        return value;
      } catch (err) {
        sourceStates[name] = { up: false, ms: this.options.clock.now() - started, error: text(err) };
        return undefined;
      }
    };
    const [cluster, supervisor, traffic, journal] = await Promise.all([
      read('cluster', sources.cluster),
      read('supervisor', sources.supervisor),
      read('forward', sources.forward),
      read('journal', sources.journal),
    ]);
    if (cluster !== undefined) this.tally.observe(cluster.boot, cluster.transitions);
    const ordered: Partial<Record<SourceName, SourceState>> = {};
    for (const name of SOURCE_NAMES) {
      const s = sourceStates[name];
      if (s !== undefined) ordered[name] = s;
    }
    return {
      at: new Date(this.options.clock.wallTime()).toISOString(),
      node: this.options.node,
      sources: ordered,
      ...(cluster === undefined ? {} : { cluster: this.carryCluster(cluster) }),
      ...(supervisor === undefined ? {} : { supervisor: this.carrySupervisor(supervisor) }),
      ...(traffic === undefined ? {} : { traffic: this.carryTraffic(traffic) }),
      ...(journal === undefined ? {} : { journal }),
      transitions: this.tally.byReason(),
    };
  }

  /** Runs `fn` with a signal that aborts after the time limit; rejects at the limit even if `fn` ignores it. */
  private bounded<T>(name: SourceName, fn: (call: SourceCall) => Promise<T>): Promise<T> {
    const timeoutMs = this.options.timeoutMs ?? 1000;
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      const timer = this.options.clock.setTimer(timeoutMs, () => {
        const err = new MetricsError('METRICS_SOURCE_TIMEOUT', `${name}: no answer within ${timeoutMs} ms`);
        controller.abort(err);
        reject(err);
      });
      let attempt: Promise<T>;
      try {
        attempt = fn({ signal: controller.signal, timeoutMs });
      } catch (err) {
        attempt = Promise.reject(err);
      }
      attempt.then(
        (value) => {
          timer.cancel();
          resolve(value);
        },
        (err: unknown) => {
          timer.cancel();
          reject(err);
        },
      );
    });
  }

  private carryCluster(c: ClusterView): ClusterView {
    const n = (key: string, raw: number): number => this.counters.value(`cluster ${key}`, raw);
    const record = (key: string, r: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, n(`${key} ${k}`, v)]));
    return {
      ...c,
      drops: record('drops', c.drops),
      alarms: record('alarms', c.alarms),
      ...(c.reunionDropped === undefined ? {} : { reunionDropped: n('reunion', c.reunionDropped) }),
      links: c.links.map((l) => {
        if (l.shell === undefined) return l;
        const k = `link ${l.name}`;
        const ctr = l.shell.counters;
        return {
          ...l,
          shell: {
            ...l.shell,
            counters: {
              framesIn: n(`${k} in`, ctr.framesIn),
              framesOut: n(`${k} out`, ctr.framesOut),
              bytesIn: n(`${k} bytes`, ctr.bytesIn),
              opens: n(`${k} opens`, ctr.opens),
              decodeErrors: record(`${k} decode`, ctr.decodeErrors),
              drops: record(`${k} drops`, ctr.drops),
            },
          },
        };
      }),
    };
  }

  private carrySupervisor(s: SupervisorView): SupervisorView {
    return {
      ...s,
      services: s.services.map((x) => ({
        ...x,
        restarts: this.counters.value(`restarts ${x.name}`, x.restarts),
      })),
    };
  }

  private carryTraffic(t: TrafficView): TrafficView {
    const n = (key: string, raw: number): number => this.counters.value(`traffic ${key}`, raw);
    return {
      services: t.services.map((s) => ({
        ...s,
        packets: n(`${s.name} packets`, s.packets),
        bytes: n(`${s.name} bytes`, s.bytes),
        connections: n(`${s.name} connections`, s.connections),
        servers: s.servers.map((r) => {
          const k = `${s.name} ${r.address} ${r.port}`;
          return {
            ...r,
            packets: n(`${k} packets`, r.packets),
            bytes: n(`${k} bytes`, r.bytes),
            connections: n(`${k} connections`, r.connections),
          };
        }),
      })),
    };
  }
}
