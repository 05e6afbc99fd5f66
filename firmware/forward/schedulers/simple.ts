import type { SlotServer, SlotTable } from './types.ts';

function empty(size: number): SlotTable {
  return new Int32Array(size).fill(-1);
}

/** rr: servers in turn, slot by slot; weights are ignored. */
export function roundRobin(servers: readonly SlotServer[], size: number): SlotTable {
  const table = empty(size);
  if (servers.length === 0) return table;
  for (let i = 0; i < size; i++) table[i] = i % servers.length;
  return table;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * wrr: the interleaved sequence LVS's weighted round-robin produces (the current weight steps down by
 * the weights' gcd; each pass takes every server whose weight reaches it), repeated over the table.
 */
export function weightedRoundRobin(servers: readonly SlotServer[], size: number): SlotTable {
  const table = empty(size);
  if (servers.length === 0) return table;
  const weights = servers.map((s) => s.weight);
  const step = weights.reduce(gcd);
  const max = Math.max(...weights);
  const cycle: number[] = [];
  for (let current = max; current > 0; current -= step) {
    weights.forEach((w, i) => {
      if (w >= current) cycle.push(i);
    });
  }
  for (let i = 0; i < size; i++) table[i] = cycle[i % cycle.length] as number;
  return table;
}

/**
 * sh: LVS's source-hashing table: slots handed out in order, each server taking as many consecutive
 * slots as its weight (over the weights' gcd) before the next. The data plane hashes on the client's
 * address alone for this scheduler, so a client keeps its server while the table stands.
 */
export function sourceHash(servers: readonly SlotServer[], size: number): SlotTable {
  const table = empty(size);
  if (servers.length === 0) return table;
  const step = servers.map((s) => s.weight).reduce(gcd);
  let server = 0;
  let repeated = 0;
  for (let i = 0; i < size; i++) {
    table[i] = server;
    repeated += 1;
    if (repeated >= (servers[server] as SlotServer).weight / step) {
      server = (server + 1) % servers.length;
      repeated = 0;
    }
  }
  return table;
}
