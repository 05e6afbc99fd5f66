import { hash32 } from './hash.ts';
import { isPrime } from './primes.ts';
import type { SlotServer, SlotTable } from './types.ts';

/**
 * mh: Maglev hashing (Eisenbud et al., NSDI 2016), weighted as IPVS's mh does it. Each server walks its
 * own permutation of the slots (offset and skip from two hashes of its key; `size` prime makes every skip
 * a full cycle) and, taking turns, claims its next free slot. Weights are credits: each round a server
 * earns weight/max-weight of a turn, so the heaviest claims one slot per round and the table's shares
 * follow the weights however large they are. A server's preferences do not depend on the other servers, so when one leaves, mostly its own
 * slots move: close to 1/N of the table.
 */
export function maglev(servers: readonly SlotServer[], size: number): SlotTable {
  if (!isPrime(size)) throw new RangeError(`Maglev needs a prime table size, got ${size}`);
  const table = new Int32Array(size).fill(-1);
  const n = servers.length;
  if (n === 0) return table;
  const offset = servers.map((s) => hash32(s.key, 0x6d61676c) % size);
  const skip = servers.map((s) => (size === 1 ? 1 : (hash32(s.key, 0x65762131) % (size - 1)) + 1));
  const next = new Array<number>(n).fill(0);
  const max = Math.max(...servers.map((s) => s.weight));
  const earn = servers.map((s) => s.weight / max);
  const credit = new Array<number>(n).fill(0);
  let filled = 0;
  while (filled < size) {
    for (let i = 0; i < n && filled < size; i++) {
      credit[i] = (credit[i] as number) + (earn[i] as number);
      for (; (credit[i] as number) >= 1 - 1e-9 && filled < size; credit[i] = (credit[i] as number) - 1) {
        let slot: number;
        do {
          slot = ((offset[i] as number) + (next[i] as number) * (skip[i] as number)) % size;
          next[i] = (next[i] as number) + 1;
        } while (table[slot] !== -1);
        table[slot] = i;
        filled += 1;
      }
    }
  }
  return table;
}
