/**
 * What the console shows and does, behind one interface so that the supervisor can wire the real
 * services in as they land. The required members exist on every appliance (the journal holds the
 * configuration, the event log and the facts the services record). The optional ones belong to services
 * that may not be wired yet: when one is absent the console says "not available on this appliance yet:
 * <what>" instead of showing anything made up.
 */
import type { ConfigApi, JournalStatus } from '../journal/api.ts';
import type { ClusterFacts, LoggedEvent, RecoveryOutcome, ServerHealth } from '../journal/index.ts';

export interface VersionInfo {
  firmware: string;
  board: string;
  node: string;
  /** The root slot the appliance booted from, where the board has A/B slots. */
  bootSlot?: string | undefined;
}

/** The configuration store: the journal's versioned configuration. */
export type ConfigStore = Pick<
  ConfigApi,
  'running' | 'version' | 'versions' | 'candidate' | 'edit' | 'discard' | 'commit' | 'rollback' | 'diff'
>;

export interface JournalView {
  status: JournalStatus;
  recovery: RecoveryOutcome;
}

/** One heartbeat link as the cluster service sees it. */
export interface LinkView {
  name: string;
  status: string;
  /** Milliseconds since a frame was last accepted on it; undefined when never. */
  silentMs: number | undefined;
  detail: string;
}

export interface TrafficCounters {
  connections: number;
  packets: number;
  bytes: number;
}

/** Live forwarding counters by service name and by `service/server`. */
export interface TrafficView {
  services: ReadonlyMap<string, TrafficCounters>;
  servers: ReadonlyMap<string, TrafficCounters>;
}

export interface PingResult {
  rttMs: number;
  ttl?: number | undefined;
}

export interface ActionOptions {
  signal: AbortSignal;
}

export interface ConsoleBackend {
  /** For the prompt and `show version`. */
  hostname(): string;
  /** This node's cluster role for the prompt (active, standby, …; `unknown` before the cluster says). */
  role(): string;
  version(): VersionInfo;
  readonly config: ConfigStore;
  journal(): JournalView;
  /** The newest `limit` events of the log, oldest first. */
  log(limit: number): LoggedEvent[];
  /** Roles, epoch and peers as recorded in the journal. */
  clusterFacts(): ClusterFacts;
  /** The monitor's last word on a real server, if any. */
  health(service: string, server: string): ServerHealth | undefined;
  /** Records an audit event (logins, commits, operator actions). */
  audit(message: string): Promise<void>;

  /** Heartbeat links (the cluster service). */
  links?(): LinkView[];
  /** Forwarding counters (the forwarding service). */
  traffic?(): TrafficView;
  /** One ICMP echo to `address`. */
  ping?(address: string, options: { timeoutMs: number; signal: AbortSignal }): Promise<PingResult>;
  /** Graceful switchover to the peer; resolves with what happened, in words. */
  failover?(options: ActionOptions): Promise<string>;
  maintenance?(on: boolean, options: ActionOptions): Promise<string>;
  /** Reboots the appliance (resolves when the reboot has been set in motion). */
  reboot?(options: ActionOptions): Promise<string>;
  /** Starts or reports a firmware update (the update service). */
  update?(request: { bundle: string | undefined }, options: ActionOptions): Promise<string>;
}
