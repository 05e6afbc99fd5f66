/**
 * The timing of a gratuitous-ARP burst, shared by both drivers: frame 0 at once, frame i at i*intervalMs
 * on the driver's Clock, each sent by `send`. Sends may overlap (arping outlives its frame). Resolves
 * with how many frames left once every send has finished; the first failure or an abort cancels the
 * timer, aborts the sends still running (their signal) and rejects.
 */
import type { Clock, Timer } from '../clock/types.ts';
import { abortError } from '../errors.ts';

export interface BurstPlan {
  count: number;
  intervalMs: number;
  signal: AbortSignal | undefined;
  /** Names the link in abort errors. */
  device: string;
}

/** Sends frame `index`; resolves true when it left the link, false when it was dropped (no carrier). */
export type SendFrame = (index: number, signal: AbortSignal) => Promise<boolean>;

export function runBurst(clock: Clock, plan: BurstPlan, send: SendFrame): Promise<number> {
  const { signal } = plan;
  if (signal?.aborted) return Promise.reject(abortError(signal, plan.device));
  return new Promise<number>((resolve, reject) => {
    const sends = new AbortController();
    let timer: Timer | undefined;
    let started = 0;
    let finished = 0;
    let sent = 0;
    let done = false;

    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      timer?.cancel();
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) {
        resolve(sent);
        return;
      }
      sends.abort(err);
      reject(err);
    };
    const onAbort = (): void => finish(abortError(signal as AbortSignal, plan.device));
    const fire = (): void => {
      timer = undefined;
      const index = started++;
      if (started < plan.count) timer = clock.setTimer(plan.intervalMs, fire);
      let pending: Promise<boolean>;
      try {
        pending = send(index, sends.signal);
      } catch (err) {
        pending = Promise.reject(err);
      }
      pending.then(
        (ok) => {
          if (ok) sent++;
          finished++;
          if (finished === plan.count) finish();
        },
        (err: unknown) => finish(err),
      );
    };

    signal?.addEventListener('abort', onAbort, { once: true });
    fire();
  });
}
