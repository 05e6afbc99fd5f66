/**
 * Simulated heartbeat links (tigerbeetle's packet_simulator shape): a plain options record per link, cut
 * per direction, and a `transmit` that says when each copy of a frame arrives and whether it arrives
 * corrupted. All draws come from the Rng the world hands in.
 */
import type { LinkName } from '../../../firmware/cluster/types.ts';
import type { Rng } from '../../../hal/sim/rng.ts';

export interface LinkOptions {
  /** One-way delay: minimum, and mean (the excess over the minimum is exponential, capped at 8× the mean). */
  delayMinMs: number;
  delayMeanMs: number;
  /** Probability a frame is lost. */
  loss: number;
  /** Probability a frame arrives twice (datagram links only). */
  duplicate: number;
  /** Probability a frame is held back by up to `reorderSpreadMs` (datagram links only). */
  reorder: number;
  reorderSpreadMs: number;
  /** Probability a frame arrives with flipped bits or cut short. */
  corrupt: number;
  /** Bytes on a cable arrive in order: no reordering, no duplicates. */
  fifo: boolean;
}

export const cleanLink = (fifo: boolean, delayMinMs: number): LinkOptions => ({
  delayMinMs,
  delayMeanMs: delayMinMs,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderSpreadMs: 0,
  corrupt: 0,
  fifo,
});

/** The longest one-way delay a link can produce, with its options. */
export function maxDelayMs(o: LinkOptions): number {
  return o.delayMinMs + 8 * (o.delayMeanMs - o.delayMinMs) + (o.fifo ? 0 : o.reorderSpreadMs);
}

export interface Copy {
  /** Delay from now. */
  delayMs: number;
  corrupt: boolean;
}

/** Direction 0 is node 0 → node 1, direction 1 the reverse. */
export type Direction = 0 | 1;

export class SimLink {
  readonly name: LinkName;
  options: LinkOptions;
  private readonly cut: [boolean, boolean] = [false, false];
  /** Latest arrival time per direction, for FIFO links. */
  private readonly lastArrival: [number, number] = [0, 0];

  constructor(name: LinkName, options: LinkOptions) {
    this.name = name;
    this.options = options;
  }

  setCut(dir: Direction | 'both', cut: boolean): void {
    if (dir === 'both' || dir === 0) this.cut[0] = cut;
    if (dir === 'both' || dir === 1) this.cut[1] = cut;
  }

  isCut(dir: Direction): boolean {
    return this.cut[dir];
  }

  /** True when frames can pass both ways (loss aside). */
  works(): boolean {
    return !this.cut[0] && !this.cut[1];
  }

  transmit(dir: Direction, now: number, rng: Rng): Copy[] {
    const o = this.options;
    if (this.cut[dir] || rng.chance(o.loss)) return [];
    const copies = !o.fifo && rng.chance(o.duplicate) ? 2 : 1;
    const out: Copy[] = [];
    for (let i = 0; i < copies; i++) {
      const excess = o.delayMeanMs - o.delayMinMs;
      let delay = o.delayMinMs + Math.min(8 * excess, -Math.log(1 - rng.float()) * excess);
      if (!o.fifo && rng.chance(o.reorder)) delay += rng.float() * o.reorderSpreadMs;
      if (o.fifo) {
        const at = Math.max(now + delay, this.lastArrival[dir]);
        this.lastArrival[dir] = at;
        delay = at - now;
      }
      out.push({ delayMs: delay, corrupt: rng.chance(o.corrupt) });
    }
    return out;
  }
}
