/**
 * The kernel packet filter (nftables) as `forward` programs it: batches of commands in the nftables JSON
 * schema (libnftables-json(5)), applied atomically. This is a typed subset: tables, chains (regular and
 * base chains, netdev ingress on a device), rules, named counters, sets and maps with their elements.
 * Rule expressions stay open JSON, as the schema leaves them.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type Family = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';
export type ChainType = 'filter' | 'nat' | 'route';
export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';
export type Policy = 'accept' | 'drop';

export interface TableRef {
  family: Family;
  name: string;
}

export interface Table extends TableRef {
  /** Only meaningful in delete; the kernel assigns it. */
  handle?: number;
}

export interface Chain {
  family: Family;
  table: string;
  /** Required except when deleting by handle. */
  name?: string;
  handle?: number;
  /** A base chain has type, hook and prio together (and dev for netdev ingress); a regular chain none. */
  type?: ChainType;
  hook?: Hook;
  /** Priority as a number (nft's named priorities are not accepted in JSON input). */
  prio?: number;
  /** The device of a netdev ingress/egress chain. */
  dev?: string;
  /** Base chains only; default accept. */
  policy?: Policy;
}

/** One statement of a rule: an object with exactly one key, e.g. `{ "counter": null }`, `{ "accept": null }`. */
export type Statement = { [keyword: string]: JsonValue };

export interface Rule {
  family: Family;
  table: string;
  chain: string;
  /** add: the new rule goes after this one; insert: before it; replace/delete: this rule. */
  handle?: number;
  /** add/insert: the position, as a 0-based index into the chain, instead of a handle. */
  index?: number;
  comment?: string;
  /** Required for add, insert and replace. */
  expr?: Statement[];
}

export interface NftSet {
  family: Family;
  table: string;
  name?: string;
  handle?: number;
  /** Element type, e.g. `ipv4_addr`, `inet_service`, or a list for concatenations. */
  type?: string | string[];
  /** `dynamic` only appears in listings: nft 1.0.6 refuses it in JSON input (a set rules add to gets it). */
  flags?: ('constant' | 'interval' | 'timeout' | 'dynamic')[];
  timeout?: number;
  size?: number;
  comment?: string;
  elem?: JsonValue[];
}

export interface NftMap extends NftSet {
  /**
   * Data type, e.g. `verdict`, `ipv4_addr`. Required for add/create. One type name: nft 1.0.6 cannot
   * declare a concatenated data type in JSON (apply refuses a list; listings may show one).
   */
  map?: string | string[];
}

export interface Element {
  family: Family;
  table: string;
  /** The set or map. */
  name: string;
  /** Set elements, or `[key, value]` pairs for a map. */
  elem: JsonValue[];
}

export interface Counter {
  family: Family;
  table: string;
  name?: string;
  handle?: number;
  comment?: string;
  packets?: number;
  bytes?: number;
}

export type NftObject =
  | { table: Table }
  | { chain: Chain }
  | { rule: Rule }
  | { set: NftSet }
  | { map: NftMap }
  | { element: Element }
  | { counter: Counter };

/**
 * add: make it, or leave it as it is when it exists (elements and counters too; a base chain's policy is
 * updated). create: make it, or fail when it exists. insert: a rule at the start (or before `handle`).
 * replace: a rule, by handle. delete: remove it (fails when missing; a chain or set still referenced
 * fails). flush: empty a table's chains, a chain, or a set or map.
 */
export type Command =
  | { add: NftObject }
  | { create: NftObject }
  | { insert: { rule: Rule } }
  | { replace: { rule: Rule } }
  | { delete: NftObject }
  | { flush: { table: Table } | { chain: Chain } | { set: NftSet } | { map: NftMap } };

export interface Batch {
  nftables: Command[];
}

/** What list() reports: the objects of one table, each with its kernel handle, in nft's order. */
export type ListedObject =
  | { table: TableRef & { handle: number } }
  | { chain: Chain & { name: string; handle: number } }
  | { rule: Rule & { handle: number; expr: Statement[] } }
  | { set: NftSet & { name: string; handle: number } }
  | { map: NftMap & { name: string; handle: number } }
  | { counter: Counter & { name: string; handle: number; packets: number; bytes: number } };

export interface Listing {
  nftables: ListedObject[];
}

export interface NamedCounter {
  name: string;
  handle: number;
  comment?: string;
  packets: number;
  bytes: number;
}

/** The anonymous `counter` statement of one rule. */
export interface RuleCounter {
  chain: string;
  handle: number;
  comment?: string;
  packets: number;
  bytes: number;
}

export interface TableCounters {
  named: NamedCounter[];
  rules: RuleCounter[];
}

export interface PacketFilter {
  /**
   * Applies `batch` in one kernel transaction: all of it or none of it. A batch the schema subset does not
   * allow, or the kernel refuses (missing table or chain, an existing object under create, a chain or set
   * still in use...), rejects with HAL_INVALID_ARGUMENT whose message carries nft's own error text, and
   * the ruleset is left exactly as it was. HAL_CANCELED when `signal` aborts (before anything is applied,
   * or while nft runs: the kernel transaction is then either whole or absent), HAL_CLOSED after close().
   */
  apply(batch: Batch, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * The table's objects (table, counters, sets and maps, chains, then rules in chain order), as nft lists
   * them; objects outside the typed subset (quotas, flowtables, ...) are left out. HAL_NOT_FOUND when the
   * table does not exist.
   */
  list(table: TableRef, options?: { signal?: AbortSignal }): Promise<Listing>;
  /** Named counters, and every rule's anonymous counter with the rule's handle and comment. */
  counters(table: TableRef, options?: { signal?: AbortSignal }): Promise<TableCounters>;
  /** Deletes the table and everything in it; a missing table is not an error. */
  deleteTable(table: TableRef, options?: { signal?: AbortSignal }): Promise<void>;
  /** Ends calls in flight with HAL_CANCELED; later calls get HAL_CLOSED. Calling it again does nothing. */
  close(): Promise<void>;
}
