/**
 * Time for services and drivers. Every timer in Tandem runs on `now()`, a monotonic clock: the wall
 * clock may step (NTP, an operator) and must never decide when a peer is dead.
 */
export interface Timer {
  /** Stops the timer if it has not fired. Calling it again, or after it fired, does nothing. */
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (fractional) since an arbitrary origin. Never decreases between calls. */
  now(): number;
  /**
   * Runs `fn` once, no earlier than `delayMs` after now(). A negative or non-finite delay throws a
   * HAL_INVALID_ARGUMENT HalError. Timers due at the same instant fire in the order they were armed.
   */
  setTimer(delayMs: number, fn: () => void): Timer;
  /**
   * Resolves after `ms`. If `signal` is already aborted it rejects at once; if it aborts while waiting it
   * rejects with the signal's reason (a HAL_CANCELED HalError when the reason is not an Error), and the
   * abort listener is removed either way.
   */
  sleep(ms: number, options?: { signal?: AbortSignal }): Promise<void>;
  /** Wall-clock milliseconds since the Unix epoch: for log lines and audit records only, never for timing. */
  wallTime(): number;
}
