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
    // Node's timers run on a cached loop time and can fire a fraction of a millisecond early by
    // performance.now(); re-arm for the remainder so a timer never fires before its delay.
    const due = this.now() + delayMs;
    let handle: NodeJS.Timeout;
    const fire = (): void => {
      const left = due - this.now();
      if (left > 0) handle = setTimeout(fire, Math.max(1, left));
      else fn();
    };
    handle = setTimeout(fire, delayMs);
    return { cancel: () => clearTimeout(handle) };
  }

  sleep(ms: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    return sleepOn(this, ms, options.signal);
  }

  wallTime(): number {
    return Date.now();
  }
}
