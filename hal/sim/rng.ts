/**
 * A small deterministic PRNG (xoshiro128**, seeded through splitmix32) for simulations. Its whole state is
 * four numbers, so a pure core can keep one in its state and a sim world can fork one per driver.
 */
export type RngState = readonly [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function rngSeed(seed: number): RngState {
  const next = splitmix32(seed);
  return [next(), next(), next(), next()];
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** Pure step: returns a uint32 and the next state. */
export function rngNext(state: RngState): [number, RngState] {
  const [a, b, c, d] = state;
  const out = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
  const t = (b << 9) >>> 0;
  let c2 = (c ^ a) >>> 0;
  let d2 = (d ^ b) >>> 0;
  const b2 = (b ^ c2) >>> 0;
  const a2 = (a ^ d2) >>> 0;
  c2 = (c2 ^ t) >>> 0;
  d2 = rotl(d2, 11);
  return [out, [a2, b2, c2, d2]];
}

/** A mutable wrapper for drivers and test worlds. Cores use `rngNext` on state they own instead. */
export class Rng {
  private state: RngState;

  constructor(seed: number) {
    this.state = rngSeed(seed);
  }

  /** A uint32. */
  u32(): number {
    const [out, next] = rngNext(this.state);
    this.state = next;
    return out;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** An integer in [min, max] inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() needs at least one item');
    return items[Math.floor(this.float() * items.length)] as T;
  }

  /** An independent generator derived from this one (one per driver in a sim world). */
  fork(): Rng {
    return new Rng(this.u32());
  }
}
