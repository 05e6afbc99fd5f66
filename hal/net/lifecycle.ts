/**
 * The open/closed state both net drivers keep: closing aborts what they run on the closing signal (with
 * HAL_CANCELED) and ends their link watches; every later call is refused with HAL_CLOSED.
 */
import { HalError } from '../errors.ts';
import type { LinkEventQueue } from './watch-queue.ts';

export class NetLifecycle {
  /** The link watches still open. */
  readonly watches = new Set<LinkEventQueue>();
  private readonly closing = new AbortController();
  private closed: Promise<void> | undefined;

  /** `device` names the host or namespace in errors. */
  constructor(private readonly device: string) {}

  /** Aborts when the driver closes. */
  get signal(): AbortSignal {
    return this.closing.signal;
  }

  /** Aborts when `signal` does or the driver closes, whichever is first. */
  signalWith(signal: AbortSignal | undefined): AbortSignal {
    return signal === undefined ? this.closing.signal : AbortSignal.any([this.closing.signal, signal]);
  }

  checkOpen(): void {
    if (this.closed !== undefined) {
      throw new HalError('HAL_CLOSED', `net driver of ${this.device} is closed`, { device: this.device });
    }
  }

  close(): Promise<void> {
    if (this.closed !== undefined) return this.closed;
    this.closing.abort(
      new HalError('HAL_CANCELED', `net driver of ${this.device} closed`, { device: this.device }),
    );
    this.closed = Promise.all([...this.watches].map((w) => w.close())).then(() => {});
    return this.closed;
  }
}
