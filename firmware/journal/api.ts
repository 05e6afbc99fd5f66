import type { Candidate, ConfigVersion } from './config.ts';
import type { AlarmCode, CommitOutcome, Counters, Relation } from './core.ts';
import type { ConfigChange } from './diff.ts';
import type { LoggedEvent } from './events.ts';
import type { ClusterFacts } from './facts.ts';
import type { FeedItem, SubscribeOptions, Subscription } from './feed.ts';
import type { ServerHealth } from './health.ts';
import type { Endpoint } from './link.ts';
import type { RecoveryOutcome } from './recovery.ts';
import type { SnapshotFile } from './snapshots.ts';
import type { StickyBinding } from './sticky.ts';
import type { Conflict } from './store.ts';
import type {
  ClusterRole,
  ConfigDoc,
  Entry,
  EventLevel,
  HealthState,
  JsonValue,
  ReplicationRole,
} from './types.ts';

/**
 * What the journal service offers the other services. Reads are synchronous and see every committed
 * entry. Writes are allowed on the leader only (JOURNAL_NOT_LEADER elsewhere: the standby changes only
 * by replication) and resolve once durable on this node. Configuration commits additionally wait for the
 * peer's acknowledgement when a follower is attached and report how that went in `replication`.
 */
export interface Journal {
  readonly node: string;
  /** How the file was found at start (sound, restored from a snapshot, …). */
  readonly recovery: RecoveryOutcome;
  readonly config: ConfigApi;
  readonly health: HealthApi;
  readonly sticky: StickyApi;
  readonly cluster: ClusterApi;
  readonly events: EventsApi;

  /** The bound replication address (useful with port 0). */
  address(): Endpoint | undefined;
  status(): JournalStatus;
  /**
   * Makes this node the leader in `epoch`, which must be newer than any epoch it has seen; writes the
   * epoch's first entry. Refused with JOURNAL_RECOVERING while the node awaits a resync, unless `force`.
   */
  promote(epoch: number, options?: { force?: boolean }): Promise<Entry>;
  /** Stops accepting local writes; the node follows whichever leader it is connected to. */
  demote(): void;
  /** Waits until the follower has acknowledged `seq` (or replication degraded). */
  replicated(seq: number, options?: { signal?: AbortSignal }): Promise<CommitOutcome>;
  /** Entries after `afterSeq` then live ones, in order, for reconcilers. */
  subscribe(listener: (item: FeedItem) => void, options?: SubscribeOptions): Subscription;
  /** The same feed as an async iterator that ends when `signal` aborts or the journal closes. */
  changes(options?: SubscribeOptions & { signal?: AbortSignal }): AsyncIterable<FeedItem>;
  /** Divergent entries kept when a split brain healed against this node. */
  conflicts(afterId?: number): Conflict[];
  /** Takes a snapshot now and truncates the log behind it. */
  checkpoint(): SnapshotFile;
  on<K extends keyof JournalEvents>(event: K, listener: JournalEvents[K]): () => void;
  close(): Promise<void>;
}

/**
 * The part of the journal that the other services (forward, monitor, console, metrics, panel) use: reads,
 * the writes any service may make, and the change feed. `Journal` (in the process that owns the file) and
 * the socket client `RemoteJournal` (firmware/journal/remote/) both offer it with the same semantics:
 * reads are synchronous and current, writes resolve once durable on this node and are refused with
 * JOURNAL_NOT_LEADER on a node that is not the leader.
 */
export interface JournalView {
  readonly node: string;
  readonly recovery: RecoveryOutcome;
  readonly config: ConfigApi;
  readonly health: HealthApi;
  readonly sticky: StickyApi;
  readonly cluster: Pick<ClusterApi, 'facts'>;
  readonly events: EventsApi;
  status(): JournalStatus;
  subscribe(listener: (item: FeedItem) => void, options?: SubscribeOptions): Subscription;
  changes(options?: SubscribeOptions & { signal?: AbortSignal }): AsyncIterable<FeedItem>;
}

export type JournalAlarmCode =
  | AlarmCode
  | 'commit-unreplicated'
  | 'recovered-from-corruption'
  | 'checkpoint-failed';

export interface JournalEvents {
  alarm: (alarm: { code: JournalAlarmCode; detail: string }) => void;
  role: (role: ReplicationRole, why: string) => void;
  relation: (relation: Relation, peer: string | null) => void;
  conflict: (count: number) => void;
}

export interface JournalStatus {
  node: string;
  role: ReplicationRole;
  /** The newest epoch seen. */
  epoch: number;
  head: number;
  floor: number;
  recovering: boolean;
  relation: Relation;
  /** Entries the follower has not acknowledged (leader with a follower attached). */
  lag: number | undefined;
  counters: Counters;
}

export interface CommitResult {
  version: number;
  seq: number;
  epoch: number;
  replication: CommitOutcome;
  changes: ConfigChange[];
}

export interface ConfigApi {
  running(): ConfigVersion | undefined;
  version(n: number): ConfigVersion | undefined;
  versions(limit?: number): ConfigVersion[];
  candidate(): Candidate | undefined;
  /** Replaces the candidate with `doc`, based on the running version. */
  edit(doc: ConfigDoc, options: { author: string }): Promise<Entry>;
  discard(options: { author: string }): Promise<Entry>;
  /**
   * Commits the candidate (or `doc` when given) as the next version. JOURNAL_VERSION_CONFLICT when the
   * running version is not `expectVersion` / the candidate's base.
   */
  commit(options: {
    author: string;
    comment?: string;
    doc?: ConfigDoc;
    expectVersion?: number;
  }): Promise<CommitResult>;
  /** Commits version `to`'s document again as a new version. */
  rollback(to: number, options: { author: string; comment?: string }): Promise<CommitResult>;
  /** Changes from one version (or the candidate, or the running one) to another. */
  diff(from: ConfigRef, to: ConfigRef): ConfigChange[];
}

export type ConfigRef = number | 'running' | 'candidate';

export interface HealthApi {
  /**
   * Sets one health row. `data` carries a record's structured fields (null when left out); rows are keyed
   * by `server` alone, so a caller with more than one kind of record namespaces its keys.
   */
  set(server: string, state: HealthState, detail?: string, data?: JsonValue): Promise<Entry>;
  delete(server: string): Promise<Entry>;
  get(server: string): ServerHealth | undefined;
  all(): ServerHealth[];
}

export interface StickyApi {
  set(binding: { service: string; client: string; server: string; ttlMs: number }): Promise<Entry>;
  delete(service: string, client: string): Promise<Entry>;
  get(service: string, client: string): StickyBinding | undefined;
  list(service: string): StickyBinding[];
  count(): number;
  /** Deletes expired bindings now (the leader also does this periodically). */
  sweep(): Promise<Entry | undefined>;
}

export interface ClusterApi {
  facts(): ClusterFacts;
  setRole(node: string, role: ClusterRole): Promise<Entry>;
  setPeer(node: string, peer: { address: string; state: string }): Promise<Entry>;
}

export interface EventsApi {
  append(event: { level: EventLevel; source: string; message: string; data?: JsonValue }): Promise<Entry>;
  list(options?: { afterSeq?: number; limit?: number; source?: string }): LoggedEvent[];
}
