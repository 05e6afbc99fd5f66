/**
 * The slot map a service programs (pure). Every configured server is a member of the base table, whatever
 * its state, so a server going down, draining or coming back rewrites no slot: only its entry in the
 * small `srv_` map changes (O(1) for the latency that matters, a backend's health). Each slot's value
 * packs two server indexes:
 *   bits 0-14: the slot's base server (the scheduler's table over all members),
 *   bits 15-29: 1 + the fallback server, used when the base server takes no new flows (0: none),
 *   bit 30: SERVER_TAG, so a hash left in the mark by a failed lookup matches no server.
 * A slot's fallback is the base server of the first of a fixed pseudo-random sequence of other slots
 * whose base server is not excluded; excluded are the slot's own base server and, for the slots of
 * servers that take no new flows, all of those. So when one server stops taking flows its slots' values
 * are already right, and the fallbacks spread its flows over the others in proportion to their slots;
 * the slots of two servers out at once shift only where one's fallback was the other. A pure function
 * of the desired state: both appliances program the same values.
 */
import type { VirtualService } from '../model.ts';
import { serverKey } from '../model.ts';
import { SLOT_SCHEDULERS } from '../schedulers/index.ts';

export const SERVER_TAG = 0x40000000;
export const BASE_MASK = 0x7fff;
export const FALLBACK_SHIFT = 15;
export const FALLBACK_MASK = 0x7fff << FALLBACK_SHIFT;
const PROBES = 32;

/** The j-th probe of slot k: a murmur3-finalised integer hash, the same on every appliance. */
function probeOf(k: number, j: number, size: number): number {
  let h = (Math.imul(k, 0x9e3779b1) ^ Math.imul(j, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) % size;
}

/** The srv_ key of a server index, and its up_ (fallback) key. */
export const baseKey = (index: number): number => SERVER_TAG + index;
export const fallbackKey = (index: number): number => (index + 1) << FALLBACK_SHIFT;

/** A server that takes new flows: up, with a weight. */
export function takesNewFlows(state: string, weight: number): boolean {
  return state === 'up' && weight > 0;
}

interface Base {
  readonly key: string;
  /** The scheduler's table over all members (member positions). */
  readonly table: Int32Array;
  /** Per slot, the member its fallback names while only its own base member is out (-1: none). */
  readonly alone: Int32Array;
}

/**
 * The base tables of the services last programmed, so a change of health (which leaves the members and
 * their weights alone) recomputes only the fallbacks of the slots whose server is out.
 */
export class BaseTables {
  private readonly byService = new Map<string, Base>();

  get(name: string, key: string, build: () => Base): Base {
    const hit = this.byService.get(name);
    if (hit !== undefined && hit.key === key) return hit;
    const made = build();
    this.byService.set(name, made);
    return made;
  }

  /** Forgets the services not in `names`. */
  keep(names: ReadonlySet<string>): void {
    for (const name of this.byService.keys()) if (!names.has(name)) this.byService.delete(name);
  }
}

/** The first probed slot's member that `excluded` allows, or -1. */
function fallbackOf(
  k: number,
  size: number,
  table: Int32Array,
  excluded: (member: number) => boolean,
): number {
  for (let j = 1; j <= PROBES; j++) {
    const m = table[probeOf(k, j, size)] as number;
    if (!excluded(m)) return m;
  }
  for (let step = 1; step < size; step++) {
    const m = table[(k + step) % size] as number;
    if (!excluded(m)) return m;
  }
  return -1;
}

/**
 * The packed slot values of `s`; `indexOf` gives each server's allocation index by server key; -1 in
 * every slot when the service has no servers. `cache` keeps the base tables between calls.
 */
export function packedSlots(
  s: VirtualService,
  indexOf: ReadonlyMap<string, number>,
  weights?: ReadonlyMap<string, number>,
  cache: BaseTables = new BaseTables(),
): Int32Array {
  const size = s.slots;
  const out = new Int32Array(size).fill(-1);
  if (s.servers.length === 0) return out;
  // A member of weight 0 keeps slots (weight 1) for the flows it has; it takes no new ones.
  const members = s.servers.map((r) => {
    const key = serverKey(s, r);
    const weight = weights?.get(key) ?? r.weight;
    return {
      key,
      weight: Math.max(1, weight),
      index: indexOf.get(key) as number,
      out: !takesNewFlows(r.state, weight),
    };
  });
  // lc re-weighted by connection counts schedules like wlc (schedulers/index.ts).
  const scheduler = s.scheduler === 'lc' && weights !== undefined ? 'wlc' : s.scheduler;
  const key = `${scheduler} ${size} ${members.map((m) => `${m.key}=${m.weight}`).join(',')}`;
  const base = cache.get(s.name, key, () => {
    const table = SLOT_SCHEDULERS[scheduler](members, size);
    const alone = new Int32Array(size).fill(-1);
    for (let k = 0; k < size && members.length > 1; k++) {
      const own = table[k] as number;
      alone[k] = fallbackOf(k, size, table, (m) => m === own);
    }
    return { key, table, alone };
  });
  const isOut = (m: number): boolean => members[m]?.out === true;
  // Without a member that takes new flows there is no fallback (and no probing through every slot).
  const anyIn = members.some((m) => !m.out);
  for (let k = 0; k < size; k++) {
    const own = base.table[k] as number;
    const fallback = !isOut(own)
      ? (base.alone[k] as number)
      : anyIn
        ? fallbackOf(k, size, base.table, isOut)
        : -1;
    const b = members[own] as (typeof members)[number];
    const f = fallback < 0 ? 0 : (members[fallback] as (typeof members)[number]).index + 1;
    out[k] = SERVER_TAG | (f << FALLBACK_SHIFT) | b.index;
  }
  return out;
}
