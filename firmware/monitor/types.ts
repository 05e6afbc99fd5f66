/**
 * The monitor's edges: what it reports (HealthSink, implemented by the journal; an in-memory one lives in
 * sinks.ts), where its configuration comes from (MonitorConfigSource), the drivers it is handed and the
 * handle it returns. Only types here.
 */
import type { Clock } from '../../hal/clock/types.ts';
import type { Pinger } from '../../hal/icmp/types.ts';
import type { NetDriver } from '../../hal/net/types.ts';
import type { MonitorConfigInput } from './config.ts';

/** What forwarding should do with a real server: keep it at its weight, weight 0 (drain), or drop it. */
export type ServerAction = 'restore' | 'quiesce' | 'remove';

/** Why a record was emitted: the first word on a server, a check decision, or a configuration change. */
export type RecordCause = 'initial' | 'rise' | 'fall' | 'reconfigured';

export interface ServerHealthRecord {
  readonly service: string;
  readonly server: string;
  readonly address: string;
  readonly port: number;
  readonly state: 'up' | 'down';
  /** 'restore' when up; when down, the service's onFall: 'quiesce' (weight 0) or 'remove'. */
  readonly action: ServerAction;
  /** The weight forwarding should use: the configured weight when up, 0 when down. */
  readonly weight: number;
  readonly cause: RecordCause;
  /** The failing check's reason when down ("… answered 500, expected 200-299"); what came up when up. */
  readonly reason: string;
}

export interface QuorumRecord {
  readonly service: string;
  /** Live weight reached `quorum + hysteresis` (met) or fell below `quorum - hysteresis` (lost). */
  readonly met: boolean;
  /** The sum of the weights of the servers that are up. */
  readonly liveWeight: number;
  readonly quorum: number;
  readonly hysteresis: number;
  readonly cause: 'initial' | 'transition' | 'reconfigured';
}

export interface SorryRecord {
  readonly service: string;
  /** True while no real server of the service is up: traffic goes to the sorry server. */
  readonly active: boolean;
  readonly address: string;
  readonly port: number;
  readonly cause: 'initial' | 'transition' | 'reconfigured';
}

export type ComponentKind = 'link' | 'gateway' | 'service';

export interface ComponentHealth {
  readonly name: string;
  readonly kind: ComponentKind;
  readonly healthy: boolean;
  readonly weight: number;
  readonly detail: string;
}

/** The appliance's own health: the cluster core reads `score` (an unhealthy active steps down). */
export interface ApplianceHealthRecord {
  /** 0..100: the weighted share of healthy components (100 when none are configured). */
  readonly score: number;
  readonly components: readonly ComponentHealth[];
}

/**
 * Where the monitor's decisions go. Every call says the whole current state of one thing, so it is safe
 * to repeat (ldirectord's service_set): an implementation compares with what it holds and does nothing
 * when they match. Calls are made one at a time, in decision order; a rejection is logged and the
 * monitor goes on (the next record for the same thing carries the whole state again).
 */
export interface HealthSink {
  server(record: ServerHealthRecord): Promise<void>;
  /** The server left the configuration: forget its health. */
  serverRemoved(record: { readonly service: string; readonly server: string }): Promise<void>;
  quorum(record: QuorumRecord): Promise<void>;
  sorry(record: SorryRecord): Promise<void>;
  applianceHealth(record: ApplianceHealthRecord): Promise<void>;
}

/** The monitor's configuration (from the journal): the current document and its changes. */
export interface MonitorConfigSource {
  /** The configuration in force now (unparsed: the monitor validates it). */
  current(): MonitorConfigInput;
  /** Calls `listener` with each new configuration; returns the unsubscribe function. */
  subscribe(listener: (config: MonitorConfigInput) => void): () => void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured log output; the process entry writes it as JSON lines. */
export type Logger = (level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>) => void;

/** What startMonitor is handed; it never builds a driver. */
export interface MonitorDrivers {
  readonly clock: Clock;
  /** ICMP checks and the gateway check ping through it. */
  readonly pinger: Pinger;
  /** Carrier of the appliance's links (self-monitoring); needed only when links are configured. */
  readonly net?: NetDriver;
}

export interface MonitorStats {
  probesStarted: number;
  probesCompleted: number;
  timeouts: number;
  /** Results that arrived after their probe timed out or was replaced (ignored). */
  staleResults: number;
  /** Probes waiting for a free slot right now. */
  queued: number;
  running: number;
  sinkErrors: number;
  alertsSent: number;
  alertErrors: number;
  /** Configurations refused on reload (the previous one stays in force). */
  rejectedConfigs: number;
  /** The latest the monitor's timer has fired after it was due, in ms (an overloaded host shows here). */
  maxTimerLatenessMs: number;
  /** Times the timer fired (each one scans the check table for due probes and timeouts). */
  ticks: number;
}

export interface MonitorHandle {
  stats(): MonitorStats;
  /** Stops probing, aborts probes in flight, waits for them and for the sink and alert queues, then returns. */
  close(): Promise<void>;
}
