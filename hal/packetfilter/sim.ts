import { abortError, HalError } from '../errors.ts';
import { countersOf } from './counters.ts';
import { Ruleset } from './ruleset.ts';
import type { Batch, Listing, PacketFilter, TableCounters, TableRef } from './types.ts';
import { checkTableRef, validateBatch } from './validate.ts';

/**
 * A packet filter in a simulated world: the ruleset lives in memory (ruleset.ts), batches apply whole or
 * not at all, and no packet ever flows, so tests move counters with bumpCounter/bumpRule. It refuses
 * what NftPacketFilter refuses, with the same codes; its listing keeps expressions as they were given,
 * where nft would print them in its own canonical form.
 */
export class SimPacketFilter implements PacketFilter {
  private readonly ruleset = new Ruleset();
  private closed = false;

  async apply(batch: Batch, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.begin('apply', options.signal);
    this.ruleset.apply(validateBatch(batch));
  }

  async list(table: TableRef, options: { signal?: AbortSignal } = {}): Promise<Listing> {
    this.begin('list', options.signal);
    checkTableRef('table', table);
    return this.ruleset.list(table);
  }

  async counters(table: TableRef, options: { signal?: AbortSignal } = {}): Promise<TableCounters> {
    return countersOf(await this.list(table, options));
  }

  async deleteTable(table: TableRef, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.begin('deleteTable', options.signal);
    checkTableRef('table', table);
    this.ruleset.apply({ nftables: [{ add: { table } }, { delete: { table } }] });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Test hook: `packets` and `bytes` more through the named counter `name`. */
  bumpCounter(table: TableRef, name: string, packets: number, bytes: number): void {
    this.ruleset.bumpCounter(table, name, packets, bytes);
  }

  /** Test hook: `packets` and `bytes` more through the counted rule `handle` of `chain`. */
  bumpRule(table: TableRef, chain: string, handle: number, packets: number, bytes: number): void {
    this.ruleset.bumpRule(table, chain, handle, packets, bytes);
  }

  private begin(what: string, signal: AbortSignal | undefined): void {
    if (this.closed)
      throw new HalError('HAL_CLOSED', `cannot ${what}: the packet filter is closed`, { device: 'nftables' });
    if (signal?.aborted) throw abortError(signal, 'nftables');
  }
}
