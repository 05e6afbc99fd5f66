/** Small helpers for probes over sockets: abort wiring and failure results. */
import type { Socket } from 'node:net';
import type { Clock } from '../../../hal/clock/types.ts';
import type { ProbeResult } from './types.ts';

/**
 * Runs `body` with `onAbort` called once if `signal` aborts meanwhile (or at once if it already has);
 * the listener is removed when `body` settles.
 */
export async function whileRunning<T>(
  signal: AbortSignal,
  onAbort: () => void,
  body: () => Promise<T>,
): Promise<T> {
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await body();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** A stopwatch on the driver clock that builds results (a class: no closures made per probe). */
export class Stopwatch {
  private readonly started: number;

  constructor(private readonly clock: Clock) {
    this.started = clock.now();
  }

  ok(detail?: string): ProbeResult {
    const latencyMs = this.clock.now() - this.started;
    return detail === undefined ? { ok: true, latencyMs } : { ok: true, latencyMs, detail };
  }

  fail(reason: string): ProbeResult {
    return { ok: false, latencyMs: this.clock.now() - this.started, reason };
  }
}

/** Why a socket operation failed, in words: the errno code alone (ECONNREFUSED), else the message. */
export function socketReason(err: unknown, probe: { readonly aborted: boolean }): string {
  if (probe.aborted) return 'timed out';
  if (err instanceof Error) {
    const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
    if (code !== undefined && /^E[A-Z]+$/.test(code)) return code;
    return err.message;
  }
  return String(err);
}

const ignore = (): void => {};

/**
 * Closes a probe's socket with a reset when it is connected (no TIME_WAIT piles up on the appliance at
 * thousands of probes a second), else destroys it. Later errors on it are ignored.
 */
export function closeHard(socket: Socket): void {
  socket.on('error', ignore);
  // TLS sockets have no reset: their handle is the TLS layer.
  if (!socket.destroyed && socket.readyState === 'open' && !('encrypted' in socket)) socket.resetAndDestroy();
  else socket.destroy();
}
