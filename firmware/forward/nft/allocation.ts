import type { DesiredForwarding } from '../model.ts';
import { serverKey } from '../model.ts';

/**
 * Stable small numbers for services and their real servers: a server keeps its index (and so its chain,
 * counters and slot-map value) while it stays configured, so a change rewrites only the slots that move.
 * Pure: the next allocation is a function of the previous one and the desired state.
 */
export interface Allocation {
  readonly services: ReadonlyMap<
    string,
    { readonly id: number; readonly servers: ReadonlyMap<string, number> }
  >;
}

export const EMPTY_ALLOCATION: Allocation = { services: new Map() };

function lowestFree(used: Iterable<number>, from = 0): number {
  const taken = new Set(used);
  let n = from;
  while (taken.has(n)) n += 1;
  return n;
}

export function allocate(previous: Allocation, desired: DesiredForwarding): Allocation {
  const services = new Map<string, { id: number; servers: Map<string, number> }>();
  const wanted = desired.services;
  for (const s of wanted) {
    const before = previous.services.get(s.name);
    if (before !== undefined) services.set(s.name, { id: before.id, servers: new Map() });
  }
  for (const s of wanted) {
    if (services.has(s.name)) continue;
    services.set(s.name, {
      id: lowestFree(
        [...services.values()].map((v) => v.id),
        1,
      ),
      servers: new Map(),
    });
  }
  for (const s of wanted) {
    const entry = services.get(s.name) as { id: number; servers: Map<string, number> };
    const before = previous.services.get(s.name)?.servers;
    const keys = s.servers.map((r) => serverKey(s, r));
    for (const key of keys) {
      const index = before?.get(key);
      if (index !== undefined) entry.servers.set(key, index);
    }
    for (const key of keys) {
      if (!entry.servers.has(key)) entry.servers.set(key, lowestFree(entry.servers.values()));
    }
  }
  return { services };
}
