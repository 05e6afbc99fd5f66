/**
 * A persistent (never mutated) vector for the core's check table: items live in chunks of 64, so a step
 * that changes a few checks copies those chunks and the short list of chunks instead of the whole table.
 * With 1000 checks and two changes per probe that is about 80 pointers copied instead of 1000.
 */
const SHIFT = 6;
const WIDTH = 1 << SHIFT;
const MASK = WIDTH - 1;

export class PVec<T> implements Iterable<T> {
  private constructor(
    private readonly chunks: readonly (readonly T[])[],
    readonly length: number,
  ) {}

  static from<T>(items: readonly T[]): PVec<T> {
    const chunks: T[][] = [];
    for (let i = 0; i < items.length; i += WIDTH) chunks.push(items.slice(i, i + WIDTH));
    return new PVec(chunks, items.length);
  }

  at(i: number): T | undefined {
    if (i < 0 || i >= this.length) return undefined;
    return (this.chunks[i >> SHIFT] as readonly T[])[i & MASK];
  }

  /** The chunks themselves (all but the last full, WIDTH items each), for scans that must be fast. */
  chunkList(): readonly (readonly T[])[] {
    return this.chunks;
  }

  forEach(fn: (item: T, index: number) => void): void {
    let i = 0;
    for (const chunk of this.chunks) for (const item of chunk) fn(item, i++);
  }

  *[Symbol.iterator](): Iterator<T> {
    for (const chunk of this.chunks) yield* chunk;
  }

  findIndex(pred: (item: T) => boolean): number {
    let i = 0;
    for (const chunk of this.chunks) {
      for (const item of chunk) {
        if (pred(item)) return i;
        i++;
      }
    }
    return -1;
  }

  /** A new vector with the items at the changed indices replaced (each touched chunk copied once). */
  withAll(changes: ReadonlyMap<number, T>): PVec<T> {
    return this.withMapped(changes, (v) => v);
  }

  /** Like withAll, with each changed item made from the change's value by `item`. */
  withMapped<U>(changes: ReadonlyMap<number, U>, item: (change: U) => T): PVec<T> {
    if (changes.size === 0) return this;
    const chunks = this.chunks.slice();
    const copied = new Set<number>();
    for (const [i, value] of changes) {
      if (i < 0 || i >= this.length)
        throw new RangeError(`index ${i} is outside the vector of ${this.length}`);
      const c = i >> SHIFT;
      if (!copied.has(c)) {
        chunks[c] = (chunks[c] as readonly T[]).slice();
        copied.add(c);
      }
      (chunks[c] as T[])[i & MASK] = item(value);
    }
    return new PVec(chunks, this.length);
  }
}
