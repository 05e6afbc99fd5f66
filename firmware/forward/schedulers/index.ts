import type { SchedulerName, VirtualService } from '../model.ts';
import { activeServers, serverKey } from '../model.ts';
import { maglev } from './maglev.ts';
import { roundRobin, sourceHash, weightedRoundRobin } from './simple.ts';
import type { SlotScheduler, SlotServer, SlotTable } from './types.ts';

/**
 * The slot table of each scheduler. lc and wlc build a Maglev table from weights the forwarding core
 * re-derives from connection counts (least-conn.ts); given no counts, they use the configured weights.
 */
export const SLOT_SCHEDULERS: Record<SchedulerName, SlotScheduler> = {
  rr: roundRobin,
  wrr: weightedRoundRobin,
  sh: sourceHash,
  mh: maglev,
  lc: (servers, size) =>
    maglevOrSpread(
      servers.map((s) => ({ key: s.key, weight: 1 })),
      size,
    ),
  wlc: (servers, size) => maglevOrSpread(servers, size),
};

/** Maglev needs a prime size; lc/wlc tables of other sizes fall back to the weighted sequence. */
function maglevOrSpread(servers: readonly SlotServer[], size: number): SlotTable {
  try {
    return maglev(servers, size);
  } catch {
    return weightedRoundRobin(servers, size);
  }
}

export interface ServiceSlots {
  /** The servers of the table, in the order its entries index. */
  readonly servers: readonly SlotServer[];
  readonly table: SlotTable;
}

/**
 * The slot table of a service. `weights` overrides the weights by server key (the lc/wlc re-weighting);
 * servers that are down, draining or of weight 0 get no slots.
 */
export function serviceSlots(service: VirtualService, weights?: ReadonlyMap<string, number>): ServiceSlots {
  const servers = activeServers(service).map((r) => {
    const key = serverKey(service, r);
    return { key, weight: weights?.get(key) ?? r.weight };
  });
  const scheduler = SLOT_SCHEDULERS[service.scheduler];
  const lc = service.scheduler === 'lc' || service.scheduler === 'wlc';
  const table =
    lc && weights !== undefined ? maglevOrSpread(servers, service.slots) : scheduler(servers, service.slots);
  return { servers, table };
}

/** How many slots name a different server in `after` than in `before` (by server key). */
export function movedSlots(before: ServiceSlots, after: ServiceSlots): number {
  const size = Math.min(before.table.length, after.table.length);
  let moved = Math.abs(before.table.length - after.table.length);
  for (let i = 0; i < size; i++) {
    const a = before.table[i] as number;
    const b = after.table[i] as number;
    const ka = a < 0 ? undefined : before.servers[a]?.key;
    const kb = b < 0 ? undefined : after.servers[b]?.key;
    if (ka !== kb) moved += 1;
  }
  return moved;
}

/** Slots per server key. */
export function slotShares(slots: ServiceSlots): Map<string, number> {
  const out = new Map<string, number>(slots.servers.map((s) => [s.key, 0]));
  for (const i of slots.table) {
    if (i < 0) continue;
    const key = (slots.servers[i] as SlotServer).key;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}
