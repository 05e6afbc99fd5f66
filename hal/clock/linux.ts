import { performance } from 'node:perf_hooks';
import { checkDelay, sleepOn } from './sleep.ts';
import type { Clock, Timer } from './types.ts';

/** The host's monotonic clock (CLOCK_MONOTONIC through performance.now) and Node's timers. */
export class LinuxClock implements Clock {
  now(): number {
    return performance.now();
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    checkDelay(delayMs);
    const handle = setTimeout(fn, delayMs);
    return { cancel: () => clearTimeout(handle) };
  }

  sleep(ms: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    return sleepOn(this, ms, options.signal);
  }

  wallTime(): number {
    return Date.now();
  }
}
