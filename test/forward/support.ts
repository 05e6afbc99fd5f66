/** Fixtures for the forwarding tests: desired states, a counting packet filter, normalised listings. */

import type { DesiredInput, ServiceInput } from '../../firmware/forward/model.ts';
import type { Batch, Listing, PacketFilter, TableCounters, TableRef } from '../../hal/packetfilter/types.ts';

export const VIP = '192.0.2.100';

export function servers(n: number, extra: Record<string, unknown> = {}): ServiceInput['servers'] {
  return Array.from({ length: n }, (_, i) => ({ address: `198.51.100.${11 + i}`, ...extra }));
}

export function desired(services: ServiceInput[], hashSeed?: number): DesiredInput {
  return hashSeed === undefined ? { services } : { services, hashSeed };
}

export function dr(name: string, port: number, n: number, more: Partial<ServiceInput> = {}): ServiceInput {
  return { name, vip: VIP, protocol: 'tcp', port, method: 'dr', servers: servers(n), ...more };
}

export function nat(name: string, port: number, n: number, more: Partial<ServiceInput> = {}): ServiceInput {
  return {
    name,
    vip: VIP,
    protocol: 'tcp',
    port,
    method: 'nat',
    servers: servers(n, { port: 8080 }),
    ...more,
  };
}

/** A packet filter that records what is asked of it and can be told to fail the next apply. */
export class RecordingFilter implements PacketFilter {
  readonly batches: Batch[] = [];
  lists = 0;
  failNext: Error | undefined;

  constructor(readonly inner: PacketFilter) {}

  async apply(batch: Batch, options?: { signal?: AbortSignal }): Promise<void> {
    this.batches.push(batch);
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure !== undefined) throw failure;
    await this.inner.apply(batch, options);
  }

  async list(table: TableRef, options?: { signal?: AbortSignal }): Promise<Listing> {
    this.lists += 1;
    return this.inner.list(table, options);
  }

  async counters(table: TableRef, options?: { signal?: AbortSignal }): Promise<TableCounters> {
    this.lists += 1;
    return this.inner.counters(table, options);
  }

  deleteTable(table: TableRef, options?: { signal?: AbortSignal }): Promise<void> {
    return this.inner.deleteTable(table, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A table's listing without handles, objects and map elements sorted: equal rulesets compare equal. */
export async function normalised(pf: PacketFilter, table: TableRef): Promise<string[] | undefined> {
  let listing: Listing;
  try {
    listing = await pf.list(table);
  } catch {
    return undefined;
  }
  return listing.nftables
    .map((o) => {
      const copy = structuredClone(o) as unknown as Record<string, Record<string, unknown>>;
      const body = Object.values(copy)[0] as Record<string, unknown>;
      delete body.handle;
      if (Array.isArray(body.elem)) body.elem = body.elem.map((e) => JSON.stringify(e)).sort();
      return JSON.stringify(copy);
    })
    .sort();
}
