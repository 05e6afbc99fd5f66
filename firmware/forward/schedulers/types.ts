/**
 * A scheduler, in a kernel data plane that cannot run code per connection, is a slot table: the kernel
 * hashes each flow to one of `size` slots and forwards it to the server in that slot. Schedulers are pure
 * functions from the servers that take new flows to that table.
 */
export interface SlotServer {
  /** Stable identity (address and port): Maglev derives its preferences from it. */
  readonly key: string;
  /** > 0. */
  readonly weight: number;
}

/** Entry i is the index (into the servers given) of slot i's server; -1 everywhere when there is none. */
export type SlotTable = Int32Array;

export type SlotScheduler = (servers: readonly SlotServer[], size: number) => SlotTable;
