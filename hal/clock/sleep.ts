import { abortError, HalError } from '../errors.ts';
import type { Clock } from './types.ts';

/** The sleep() both clocks share: one timer, one abort listener, both released on every path. */
export function sleepOn(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal, 'clock'));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      timer.cancel();
      reject(abortError(signal as AbortSignal, 'clock'));
    };
    const timer = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function checkDelay(delayMs: number): void {
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new HalError(
      'HAL_INVALID_ARGUMENT',
      `timer delay must be a finite number of milliseconds >= 0, got ${delayMs}`,
      { device: 'clock' },
    );
  }
}
