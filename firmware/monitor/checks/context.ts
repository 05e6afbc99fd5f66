/**
 * The RunContext the monitor (and the tests' check runner) hands a probe: its AbortSignal is made only
 * when a check asks for it, and checks started by the thousand use `onAbort` instead (one callback slot,
 * no AbortController, no listener objects per probe).
 */
import type { CheckDrivers, RunContext } from './types.ts';

export class ProbeContext implements RunContext {
  private controller: AbortController | undefined;
  private abortFn: (() => void) | undefined;
  aborted = false;

  constructor(
    readonly timeoutMs: number,
    readonly drivers: CheckDrivers,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }

  onAbort(fn: (() => void) | undefined): void {
    this.abortFn = fn;
    if (fn !== undefined && this.aborted) {
      this.abortFn = undefined;
      fn();
    }
  }

  /** Aborts the probe: the callback set by onAbort runs once, and the signal (if made) aborts. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const fn = this.abortFn;
    this.abortFn = undefined;
    fn?.();
    this.controller?.abort();
  }
}
