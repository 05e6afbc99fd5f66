import { iterateFeed } from './feed-iterator.ts';
import type { Store } from './store.ts';
import type { Entry, EntryKind } from './types.ts';

/**
 * The change feed reconcilers subscribe to. A subscriber names the seq it has already seen and receives
 * every later entry once, in order, in batches; when the entries it needs are no longer in the log (it
 * fell behind a checkpoint) or a snapshot replaced the state, it gets a `reset`: re-read the tables.
 */
export type FeedItem =
  | { type: 'entries'; entries: readonly Entry[] }
  | { type: 'reset'; head: number; reason: 'behind-checkpoint' | 'snapshot-installed' };

export interface SubscribeOptions {
  /** Deliver entries after this seq (default: the current head, i.e. only new ones). */
  afterSeq?: number;
  /** Only these kinds, or kinds starting with these prefixes (`'sticky.'`). */
  kinds?: readonly (EntryKind | `${string}.`)[];
}

export interface Subscription {
  close(): void;
}

type Listener = (item: FeedItem) => void;

interface Sub {
  listener: Listener;
  match: (e: Entry) => boolean;
  /** The subscriber has seen everything up to here. */
  seen: number;
  /** Backlog not yet delivered: live entries wait behind it. */
  catchingUp: boolean;
  closed: boolean;
}

const BACKLOG_BATCH = 5_000;

export class Feed {
  private readonly subs = new Set<Sub>();
  /** Wakes iterators waiting for items (on new items, abort and close). */
  private readonly wakers = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly onListenerError: (err: unknown) => void,
  ) {}

  subscribe(listener: Listener, options: SubscribeOptions = {}): Subscription {
    const kinds = options.kinds;
    const match =
      kinds === undefined
        ? () => true
        : (e: Entry) => kinds.some((k) => (k.endsWith('.') ? e.kind.startsWith(k) : e.kind === k));
    const head = this.store.position().head;
    const sub: Sub = { listener, match, seen: options.afterSeq ?? head, catchingUp: true, closed: false };
    this.subs.add(sub);
    queueMicrotask(() => this.catchUp(sub));
    return {
      close: () => {
        sub.closed = true;
        this.subs.delete(sub);
      },
    };
  }

  /** New entries, in order, just committed (locally or by replication). */
  publish(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    for (const sub of this.subs) {
      if (sub.catchingUp) continue;
      const last = entries[entries.length - 1] as Entry;
      const fresh = entries.filter((e) => e.seq > sub.seen && sub.match(e));
      sub.seen = Math.max(sub.seen, last.seq);
      if (fresh.length > 0) this.deliver(sub, { type: 'entries', entries: fresh });
    }
  }

  /** The tables were replaced wholesale (snapshot install). */
  reset(head: number): void {
    for (const sub of this.subs) {
      if (sub.catchingUp) continue;
      sub.seen = head;
      this.deliver(sub, { type: 'reset', head, reason: 'snapshot-installed' });
    }
  }

  close(): void {
    this.closed = true;
    for (const sub of this.subs) sub.closed = true;
    this.subs.clear();
    for (const wake of [...this.wakers]) wake();
  }

  /** The feed as an async iterator; it ends when `signal` aborts or the feed closes. */
  iterate(options: SubscribeOptions & { signal?: AbortSignal } = {}): AsyncIterable<FeedItem> {
    return iterateFeed(
      { subscribe: (l, o) => this.subscribe(l, o), wakers: this.wakers, isClosed: () => this.closed },
      options,
    );
  }

  private catchUp(sub: Sub): void {
    while (!sub.closed) {
      const { head, floor } = this.store.position();
      if (sub.seen >= head) break;
      if (sub.seen + 1 < floor) {
        sub.seen = head;
        this.deliver(sub, { type: 'reset', head, reason: 'behind-checkpoint' });
        break;
      }
      const batch = this.store.entries(sub.seen + 1, Math.min(head, sub.seen + BACKLOG_BATCH));
      const last = batch[batch.length - 1];
      if (last === undefined) break;
      sub.seen = last.seq;
      const fresh = batch.filter(sub.match);
      if (fresh.length > 0) this.deliver(sub, { type: 'entries', entries: fresh });
    }
    sub.catchingUp = false;
  }

  private deliver(sub: Sub, item: FeedItem): void {
    if (sub.closed) return;
    try {
      sub.listener(item);
    } catch (err) {
      this.onListenerError(err);
    }
  }
}
