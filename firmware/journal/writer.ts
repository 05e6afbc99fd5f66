import { JournalError } from './errors.ts';
import type { Change, Entry } from './types.ts';

interface Pending {
  changes: readonly Change[];
  resolve: (entries: Entry[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: writes requested in the same turn of the event loop share one transaction (one fsync
 * under synchronous=FULL). Each caller's promise resolves with its own entries once the transaction has
 * committed, i.e. once they are durable.
 */
export class GroupWriter {
  private pending: Pending[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(private readonly commit: (changes: readonly Change[]) => Entry[]) {}

  write(changes: readonly Change[]): Promise<Entry[]> {
    if (this.closed) return Promise.reject(new JournalError('JOURNAL_CLOSED', 'write after close'));
    return new Promise((resolve, reject) => {
      this.pending.push({ changes, resolve, reject });
      this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Commits everything queued now (used before a synchronous transaction and at close). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    let entries: Entry[];
    try {
      entries = this.commit(batch.flatMap((p) => p.changes));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    let at = 0;
    for (const p of batch) {
      p.resolve(entries.slice(at, at + p.changes.length));
      at += p.changes.length;
    }
  }

  /** Flushes what is queued, then refuses further writes. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
