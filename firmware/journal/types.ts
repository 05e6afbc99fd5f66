/**
 * The journal's data model. Every change to replicated state is an entry in one log, numbered by `seq`
 * (1, 2, 3, … for the life of the cluster, never reused) and stamped with the `epoch` of the leader that
 * wrote it. Applying the log in order to empty tables gives the state; both nodes apply the same entries
 * with the same code, so their tables match.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A configuration document: a JSON object whose meaning belongs to the services that read it. */
export type ConfigDoc = JsonObject;

export type HealthState = 'up' | 'down' | 'unknown';
export type ClusterRole = 'active' | 'standby' | 'offline';
export type EventLevel = 'debug' | 'info' | 'warn' | 'error' | 'audit';

/** The payload of each entry kind. */
export interface ChangeMap {
  /** The first entry of every epoch: written by the node that became leader. */
  'journal.epoch': { epoch: number; leader: string };
  /** Replaces the candidate configuration (`doc: null` discards it). */
  'config.candidate': { doc: ConfigDoc | null; baseVersion: number; author: string };
  /** A new running configuration version (a rollback is a commit of an earlier version's document). */
  'config.commit': {
    version: number;
    doc: ConfigDoc;
    comment: string;
    author: string;
    rollbackOf: number | null;
    /** True when this commit came from the candidate, which it then clears. */
    fromCandidate: boolean;
  };
  /**
   * `server` is a real server's key (the monitor uses `<service>/<server>`, and reserved `@…` keys for its
   * other records); `data` is the record's structured rest (action, weight, …), absent for plain rows.
   */
  'health.set': { server: string; state: HealthState; detail: string; since: number; data?: JsonValue };
  'health.delete': { server: string };
  /** A persistence (sticky) binding of a client to a real server for one virtual service. */
  'sticky.set': { service: string; client: string; server: string; expiresAt: number };
  'sticky.delete': { service: string; client: string };
  /** Drops every binding whose expiresAt (wall ms) is at or before `before`. */
  'sticky.expire': { before: number };
  'cluster.role': { node: string; role: ClusterRole };
  'cluster.peer': { node: string; address: string; state: string; seenAt: number };
  'event.append': { level: EventLevel; source: string; message: string; data: JsonValue };
  /** Drops audit/event rows with seq below `beforeSeq` (bounded storage). */
  'event.prune': { beforeSeq: number };
}

export type EntryKind = keyof ChangeMap;
export const ENTRY_KINDS: readonly EntryKind[] = [
  'journal.epoch',
  'config.candidate',
  'config.commit',
  'health.set',
  'health.delete',
  'sticky.set',
  'sticky.delete',
  'sticky.expire',
  'cluster.role',
  'cluster.peer',
  'event.append',
  'event.prune',
];

/** A change before it is numbered: a kind and its payload. */
export type Change = { [K in EntryKind]: { kind: K; value: ChangeMap[K] } }[EntryKind];

/** A numbered change. `at` is the writer's wall clock in ms, for audit only: never for ordering. */
export type Entry = Change & { seq: number; epoch: number; at: number };

/** One record per epoch: which node led it and the seq of its first entry (its journal.epoch entry). */
export interface EpochRecord {
  epoch: number;
  leader: string;
  startSeq: number;
}

/** What a node's log looks like from outside: used in the replication handshake. */
export interface LogPosition {
  /** Seq of the last entry (0 when the log never had one). */
  head: number;
  /** Lowest seq still in the log; head + 1 when every entry has been checkpointed away. */
  floor: number;
  history: EpochRecord[];
}

export type ReplicationRole = 'leader' | 'follower';
