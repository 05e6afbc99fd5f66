import type { FeedItem, SubscribeOptions, Subscription } from './feed.ts';

/** What a change feed (local or over the access socket) gives its async iterator. */
export interface IterableFeed {
  subscribe(listener: (item: FeedItem) => void, options: SubscribeOptions): Subscription;
  /** Wakes called when the feed closes, so waiting iterators end. */
  readonly wakers: Set<() => void>;
  isClosed(): boolean;
}

/** The feed as an async iterator; it ends when `signal` aborts or the feed closes. */
export function iterateFeed(
  feed: IterableFeed,
  options: SubscribeOptions & { signal?: AbortSignal } = {},
): AsyncIterable<FeedItem> {
  const { signal, ...sub } = options;
  return {
    [Symbol.asyncIterator](): AsyncIterator<FeedItem> {
      const items: FeedItem[] = [];
      let wake: (() => void) | undefined;
      const poke = (): void => wake?.();
      const subscription = feed.subscribe((item) => {
        items.push(item);
        poke();
      }, sub);
      feed.wakers.add(poke);
      signal?.addEventListener('abort', poke);
      const finish = (): IteratorResult<FeedItem> => {
        subscription.close();
        feed.wakers.delete(poke);
        signal?.removeEventListener('abort', poke);
        return { done: true, value: undefined };
      };
      return {
        async next(): Promise<IteratorResult<FeedItem>> {
          while (items.length === 0) {
            if (signal?.aborted || feed.isClosed()) return finish();
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = undefined;
          }
          return { done: false, value: items.shift() as FeedItem };
        },
        async return(): Promise<IteratorResult<FeedItem>> {
          return finish();
        },
      };
    },
  };
}
