/**
 * Fan-out of one line's edge events to listeners and async iterators, as GpioLine.onEdge()/edges()
 * promise. Both drivers use it, so buffering, abort and close behave the same on both faces.
 */
import { abortError, HalError } from '../errors.ts';
import type { EdgeEvent } from './types.ts';

/** Most events an iterator buffers for a slow consumer; the oldest go first. */
export const EDGE_BUFFER_LIMIT = 256;

type Listener = (event: EdgeEvent) => void;

type Finish = { err: unknown } | 'done';

export class EdgeStream {
  private readonly listeners = new Set<Listener>();
  private readonly enders = new Set<(how: Finish) => void>();
  private ended = false;

  /** `device` names the line in abort errors. */
  constructor(private readonly device: string) {}

  on(listener: Listener): () => void {
    if (this.ended) return () => {};
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Delivers to every listener; if any threw, rethrows the first error once all have run. */
  emit(event: EdgeEvent): void {
    let failure: { err: unknown } | undefined;
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        failure ??= { err };
      }
    }
    if (failure) throw failure.err;
  }

  /** Ends every iteration (after its buffered events) and drops every listener. Idempotent. */
  end(): void {
    this.finishAll('done');
  }

  /** Like end(), but each iteration throws `err` after its buffered events (the line's device failed). */
  fail(err: unknown): void {
    this.finishAll({ err });
  }

  private finishAll(how: Finish): void {
    if (this.ended) return;
    this.ended = true;
    this.listeners.clear();
    for (const ender of [...this.enders]) ender(how);
    this.enders.clear();
  }

  iterate(signal: AbortSignal | undefined): AsyncIterableIterator<EdgeEvent> {
    const queue: EdgeEvent[] = [];
    let waiter: { resolve: (r: IteratorResult<EdgeEvent>) => void; reject: (e: unknown) => void } | undefined;
    let finished: Finish | undefined;

    const detach = (): void => {
      this.listeners.delete(push);
      this.enders.delete(onEnd);
      signal?.removeEventListener('abort', onAbort);
    };
    const finish = (how: Finish): void => {
      if (finished !== undefined) return;
      finished = how;
      detach();
      const w = waiter;
      waiter = undefined;
      if (w === undefined) return;
      finished = 'done';
      if (how === 'done') w.resolve({ value: undefined, done: true });
      else w.reject(how.err);
    };
    const push = (event: EdgeEvent): void => {
      if (waiter !== undefined) {
        const w = waiter;
        waiter = undefined;
        w.resolve({ value: event, done: false });
        return;
      }
      queue.push(event);
      if (queue.length > EDGE_BUFFER_LIMIT) queue.shift();
    };
    const onEnd = (how: Finish): void => finish(how);
    const onAbort = (): void => {
      queue.length = 0;
      finish({ err: abortError(signal as AbortSignal, this.device) });
    };

    if (this.ended) finished = 'done';
    else if (signal?.aborted) finished = { err: abortError(signal, this.device) };
    else {
      this.listeners.add(push);
      this.enders.add(onEnd);
      signal?.addEventListener('abort', onAbort, { once: true });
    }

    const iterator: AsyncIterableIterator<EdgeEvent> = {
      next: () => {
        const event = queue.shift();
        if (event !== undefined) return Promise.resolve({ value: event, done: false });
        if (finished === 'done') return Promise.resolve({ value: undefined, done: true });
        if (finished !== undefined) {
          const { err } = finished;
          finished = 'done';
          return Promise.reject(err);
        }
        if (waiter !== undefined) {
          return Promise.reject(
            new HalError('HAL_BUSY', `edges of ${this.device}: next() called while another is pending`, {
              device: this.device,
            }),
          );
        }
        return new Promise((resolve, reject) => {
          waiter = { resolve, reject };
        });
      },
      return: () => {
        queue.length = 0;
        finish('done');
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}
