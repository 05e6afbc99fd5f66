import { HalError } from '../errors.ts';
import { checkDelay, sleepOn } from './sleep.ts';
import type { Clock, Timer } from './types.ts';

interface Pending {
  /** Reference (world) time at which the timer fires. */
  at: number;
  order: number;
  fn: () => void;
  owner: SimClock;
  canceled: boolean;
}

/** How a derived clock's reading departs from the world's. */
export interface DriftOptions {
  /** Constant offset of this clock's origin, in ms. */
  offsetMs?: number;
  /** Rate error in parts per million (positive runs fast). */
  driftPpm?: number;
}

/**
 * Virtual time that a test advances. The root clock is the simulated world's reference time; `derive()`
 * makes a node's clock with its own offset and drift that shares the root's timer queue, and `stall()`
 * freezes a node (its timers fire late, together, when the stall ends — as a blocked event loop does).
 * Nothing here reads the host clock.
 */
export class SimClock implements Clock {
  private readonly root: SimClock;
  private readonly queue: Pending[];
  private refNow: number;
  private order = 0;
  private readonly offsetMs: number;
  private readonly rate: number;
  private stalledUntil = Number.NEGATIVE_INFINITY;
  private lastReading = Number.NEGATIVE_INFINITY;
  private readonly wallOrigin: number;

  constructor(
    options: { startMs?: number; wallOriginMs?: number } = {},
    parent?: SimClock,
    drift?: DriftOptions,
  ) {
    this.root = parent?.root ?? this;
    this.queue = parent?.root.queue ?? [];
    this.refNow = options.startMs ?? 0;
    this.offsetMs = drift?.offsetMs ?? 0;
    this.rate = 1 + (drift?.driftPpm ?? 0) / 1e6;
    this.wallOrigin = parent?.root.wallOrigin ?? options.wallOriginMs ?? Date.UTC(2026, 0, 1);
  }

  /** A node clock on the same timeline, with its own offset and drift. */
  derive(drift: DriftOptions = {}): SimClock {
    return new SimClock({}, this, drift);
  }

  /** This clock's reading. A stalled clock still reads time: the process is frozen, not the oscillator. */
  now(): number {
    const reading = this.offsetMs + this.root.refNow * this.rate;
    this.lastReading = Math.max(this.lastReading, reading);
    return this.lastReading;
  }

  wallTime(): number {
    return this.wallOrigin + this.now();
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    checkDelay(delayMs);
    const root = this.root;
    const entry: Pending = {
      at: root.refNow + delayMs / this.rate,
      order: root.order++,
      fn,
      owner: this,
      canceled: false,
    };
    root.insert(entry);
    return {
      cancel: () => {
        entry.canceled = true;
      },
    };
  }

  sleep(ms: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    return sleepOn(this, ms, options.signal);
  }

  /** Freezes this node's timers for `ms` of world time from now; they fire when the stall ends. */
  stall(ms: number): void {
    checkDelay(ms);
    this.stalledUntil = Math.max(this.stalledUntil, this.root.refNow + ms);
  }

  /** World time, the root clock's reading. */
  worldNow(): number {
    return this.root.refNow;
  }

  /** Number of armed timers on this timeline. */
  pendingTimers(): number {
    return this.root.queue.filter((p) => !p.canceled).length;
  }

  /** The world time of the next timer, or undefined when none is armed. */
  nextDue(): number | undefined {
    const next = this.root.queue.find((p) => !p.canceled);
    return next === undefined ? undefined : Math.max(next.at, next.owner.stalledUntil);
  }

  /**
   * Advances world time by `ms`, firing every timer that falls due, in time order, with now() reading each
   * timer's due time while it runs. Only the root clock may advance time.
   */
  advance(ms: number): void {
    checkDelay(ms);
    this.advanceTo(this.root.refNow + ms);
  }

  advanceTo(worldMs: number): void {
    if (this.root !== this) {
      throw new HalError('HAL_INVALID_ARGUMENT', 'only the root SimClock advances time', { device: 'clock' });
    }
    if (worldMs < this.refNow) {
      throw new HalError('HAL_INVALID_ARGUMENT', `time cannot go backwards (${worldMs} < ${this.refNow})`, {
        device: 'clock',
      });
    }
    for (;;) {
      const due = this.takeDue(worldMs);
      if (due === undefined) break;
      this.refNow = Math.max(this.refNow, due.at, due.owner.stalledUntil);
      due.fn();
    }
    this.refNow = worldMs;
  }

  /** Advances to the next timer and fires it (and any due at the same instant). False when none is armed. */
  runNext(): boolean {
    const due = this.nextDue();
    if (due === undefined) return false;
    this.advanceTo(Math.max(due, this.refNow));
    return true;
  }

  /** Lets pending promise callbacks run (sim drivers resolve promises from timers). */
  static async flush(): Promise<void> {
    for (let i = 0; i < 10; i++) await Promise.resolve();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private insert(entry: Pending): void {
    let i = this.queue.length;
    while (i > 0) {
      const prev = this.queue[i - 1] as Pending;
      if (prev.at < entry.at || (prev.at === entry.at && prev.order < entry.order)) break;
      i--;
    }
    this.queue.splice(i, 0, entry);
  }

  private takeDue(limit: number): Pending | undefined {
    let best: Pending | undefined;
    let bestIndex = -1;
    for (let i = 0; i < this.queue.length; i++) {
      const p = this.queue[i] as Pending;
      if (p.canceled) continue;
      const fireAt = Math.max(p.at, p.owner.stalledUntil);
      if (fireAt > limit) continue;
      if (best === undefined || fireAt < Math.max(best.at, best.owner.stalledUntil)) {
        best = p;
        bestIndex = i;
      }
    }
    if (best !== undefined) this.queue.splice(bestIndex, 1);
    this.queue.splice(0, this.queue.length, ...this.queue.filter((p) => !p.canceled));
    return best;
  }
}
