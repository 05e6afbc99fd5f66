import { abortError, HalError } from '../errors.ts';

/** A call that holds a slot: the contract lets one of each be in flight. */
export type Slot = 'read' | 'write';

/**
 * The bookkeeping of the SerialPort contract that both drivers share, so they reject exactly alike: an
 * aborted signal first, then HAL_CLOSED after close, then HAL_BUSY for an overlapping read or write.
 * Each call runs with an inner signal that aborts when the caller's signal aborts (with its reason) or when
 * the port closes (with HAL_CANCELED); the operation must make every wait abortable on it.
 */
export class PortGuard {
  private closedFlag = false;
  private readonly inFlight = new Set<AbortController>();
  private readonly busy = new Set<Slot>();

  constructor(private readonly device: string) {}

  get closed(): boolean {
    return this.closedFlag;
  }

  async run<T>(
    slot: Slot | undefined,
    signal: AbortSignal | undefined,
    op: (inner: AbortSignal) => Promise<T>,
  ): Promise<T> {
    if (signal?.aborted) throw abortError(signal, this.device);
    if (this.closedFlag) {
      throw new HalError('HAL_CLOSED', `serial port ${this.device} is closed`, { device: this.device });
    }
    if (slot !== undefined && this.busy.has(slot)) {
      throw new HalError('HAL_BUSY', `serial port ${this.device}: a ${slot} is already in flight`, {
        device: this.device,
      });
    }
    const inner = new AbortController();
    const onAbort = (): void => inner.abort(abortError(signal as AbortSignal, this.device));
    signal?.addEventListener('abort', onAbort, { once: true });
    this.inFlight.add(inner);
    if (slot !== undefined) this.busy.add(slot);
    try {
      return await op(inner.signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.inFlight.delete(inner);
      if (slot !== undefined) this.busy.delete(slot);
    }
  }

  /** Marks the port closed and cancels every call in flight. */
  close(): void {
    this.closedFlag = true;
    for (const inner of [...this.inFlight]) {
      inner.abort(
        new HalError('HAL_CANCELED', `serial port ${this.device} was closed during the call`, {
          device: this.device,
        }),
      );
    }
  }
}
