/**
 * Carries records to the HealthSink one call at a time, in decision order. Records are whole states, so
 * a record still waiting is replaced by a newer one about the same thing (the queue stays bounded by
 * the number of things, however long the sink stalls), and a record the sink refused is offered again
 * after `retryMs` unless a newer one about the same thing came meanwhile.
 */
import type { Clock, Timer } from '../../hal/clock/types.ts';
import type { HealthSink } from './types.ts';

export type SinkCall =
  | { readonly method: 'server'; readonly record: Parameters<HealthSink['server']>[0] }
  | { readonly method: 'serverRemoved'; readonly record: Parameters<HealthSink['serverRemoved']>[0] }
  | { readonly method: 'quorum'; readonly record: Parameters<HealthSink['quorum']>[0] }
  | { readonly method: 'sorry'; readonly record: Parameters<HealthSink['sorry']>[0] }
  | { readonly method: 'applianceHealth'; readonly record: Parameters<HealthSink['applianceHealth']>[0] };

function keyOf(call: SinkCall): string {
  switch (call.method) {
    case 'server':
    case 'serverRemoved':
      return `server\u0000${call.record.service}\u0000${call.record.server}`;
    case 'quorum':
      return `quorum\u0000${call.record.service}`;
    case 'sorry':
      return `sorry\u0000${call.record.service}`;
    case 'applianceHealth':
      return 'health';
  }
}

export class SinkQueue {
  private readonly pending = new Map<string, SinkCall>();
  private readonly refused = new Map<string, SinkCall>();
  private retry: Timer | undefined;
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly sink: HealthSink,
    private readonly clock: Clock,
    private readonly onError: (call: SinkCall, err: unknown) => void,
    private readonly retryMs = 1000,
  ) {}

  /** Records waiting, and refused ones waiting to be offered again. */
  get size(): number {
    return this.pending.size + this.refused.size;
  }

  push(call: SinkCall): void {
    if (this.closed) return;
    const key = keyOf(call);
    this.refused.delete(key);
    this.pending.delete(key);
    this.pending.set(key, call);
    this.draining ??= this.drain();
  }

  /** Stops retrying; what is queued is still delivered. */
  close(): void {
    this.closed = true;
    this.retry?.cancel();
    this.retry = undefined;
  }

  private refusedCall(key: string, call: SinkCall): void {
    if (this.closed || this.pending.has(key)) return;
    this.refused.set(key, call);
    this.retry ??= this.clock.setTimer(this.retryMs, () => {
      this.retry = undefined;
      const again = [...this.refused];
      this.refused.clear();
      for (const [k, c] of again) if (!this.pending.has(k)) this.push(c);
    });
  }

  /** Resolves when everything queued so far has been handed to the sink. */
  flushed(): Promise<void> {
    return this.draining ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        const first = this.pending.entries().next();
        if (first.done) return;
        const [key, call] = first.value;
        this.pending.delete(key);
        try {
          await deliver(this.sink, call);
        } catch (err) {
          this.onError(call, err);
          this.refusedCall(key, call);
        }
      }
    } finally {
      this.draining = undefined;
    }
  }
}

function deliver(sink: HealthSink, call: SinkCall): Promise<void> {
  switch (call.method) {
    case 'server':
      return sink.server(call.record);
    case 'serverRemoved':
      return sink.serverRemoved(call.record);
    case 'quorum':
      return sink.quorum(call.record);
    case 'sorry':
      return sink.sorry(call.record);
    case 'applianceHealth':
      return sink.applianceHealth(call.record);
  }
}
