import type { Clock } from '../../../hal/clock/types.ts';
import type { JournalView } from '../api.ts';
import type { JournalError } from '../errors.ts';

/**
 * The journal as another process sees it, through the access socket (firmware/journal/remote/). The same
 * semantics as the owner's `Journal` for everything in `JournalView`: reads are synchronous and current
 * (they read the journal file read-only), writes and the change feed go through the socket.
 *
 * While disconnected (the server went away), writes reject with JOURNAL_IO (cause: a HAL_CLOSED HalError)
 * and subscriptions receive nothing; reads keep answering from the file as it was last written. After
 * `reconnect()` (or automatically with `reconnectMs`) the file is opened again and every subscription
 * resumes after the last entry it received (or gets a `reset` when those entries were checkpointed away).
 * After `close()`, everything throws JOURNAL_CLOSED and the `changes()` iterators end.
 */
export interface RemoteJournal extends JournalView {
  /** The socket path. */
  readonly path: string;
  /** True while the socket is up. */
  readonly connected: boolean;
  /** Resolves (never rejects) with the reason when the current connection ends; a new one after reconnecting. */
  readonly closed: Promise<JournalError>;
  on(event: 'disconnect', listener: (reason: JournalError) => void): () => void;
  on(event: 'connect', listener: () => void): () => void;
  /** Dials again (no-op while connected), retrying until `timeoutMs` (default 0: one attempt). */
  reconnect(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void>;
  /** Ends the connection and the automatic reconnection, closes the file. Calling it again is harmless. */
  close(): Promise<void>;
}

export interface ConnectJournalOptions {
  /** The socket path: `runtimePaths(board).journalSocket`. */
  path: string;
  signal?: AbortSignal;
  /** Keep retrying while the socket is missing or refuses, for this long (default 0: one attempt). */
  timeoutMs?: number;
  /** After a disconnect, dial again every this many ms until connected or closed (default: never). */
  reconnectMs?: number;
  /** Monotonic timers for retries and wall time for sticky expiry (default: the Linux clock). */
  clock?: Clock;
  maxLineBytes?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}
