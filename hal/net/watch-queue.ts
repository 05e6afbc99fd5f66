/**
 * The LinkWatch both drivers hand out: a bounded queue of link events with the end, failure and abort
 * behaviour types.ts promises. The driver pushes events and says how to release its source (a child
 * process, a listener) once the watch ends for any reason.
 */
import { abortError, HalError } from '../errors.ts';
import type { LinkEvent, LinkWatch } from './types.ts';

/** Most events a watch holds for a slow consumer before it fails with HAL_IO. */
export const LINK_EVENT_LIMIT = 1024;

type End = 'done' | { err: unknown };

export class LinkEventQueue implements LinkWatch {
  private readonly queue: LinkEvent[] = [];
  private waiter:
    | { resolve: (r: IteratorResult<LinkEvent>) => void; reject: (e: unknown) => void }
    | undefined;
  private end: End | undefined;
  private released: Promise<void> | undefined;
  private readonly onAbort = (): void => {
    this.queue.length = 0;
    this.finish({ err: abortError(this.signal as AbortSignal, this.device) });
  };

  /** `device` names the host or namespace in errors; `release` runs once, when the watch ends. */
  constructor(
    private readonly device: string,
    private readonly signal: AbortSignal | undefined,
    private readonly release: () => Promise<void>,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get isOpen(): boolean {
    return this.end === undefined;
  }

  push(event: LinkEvent): void {
    if (this.end !== undefined) return;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: event, done: false });
      return;
    }
    this.queue.push(event);
    if (this.queue.length > LINK_EVENT_LIMIT) {
      this.fail(
        new HalError('HAL_IO', `link events of ${this.device}: more than ${LINK_EVENT_LIMIT} unread`, {
          device: this.device,
        }),
      );
    }
  }

  /** Ends the watch with `err`, thrown after the buffered events are read. */
  fail(err: unknown): void {
    this.finish({ err });
  }

  next(): Promise<IteratorResult<LinkEvent>> {
    const event = this.queue.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    const end = this.end;
    if (end === 'done') return Promise.resolve({ value: undefined, done: true });
    if (end !== undefined) {
      this.end = 'done';
      return Promise.reject(end.err);
    }
    if (this.waiter !== undefined) {
      return Promise.reject(
        new HalError('HAL_BUSY', `link events of ${this.device}: next() called while another is pending`, {
          device: this.device,
        }),
      );
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  async return(): Promise<IteratorResult<LinkEvent>> {
    await this.close();
    return { value: undefined, done: true };
  }

  close(): Promise<void> {
    this.queue.length = 0;
    this.finish('done');
    return this.released ?? Promise.resolve();
  }

  [Symbol.asyncIterator](): LinkEventQueue {
    return this;
  }

  private finish(end: End): void {
    if (this.end !== undefined) return;
    this.end = end;
    this.signal?.removeEventListener('abort', this.onAbort);
    // Releasing a source that is already gone (a child that exited) is not the consumer's problem.
    this.released = this.release().catch(() => {});
    const w = this.waiter;
    if (w === undefined || this.queue.length > 0) return;
    this.waiter = undefined;
    if (end === 'done') w.resolve({ value: undefined, done: true });
    else {
      this.end = 'done';
      w.reject(end.err);
    }
  }
}
