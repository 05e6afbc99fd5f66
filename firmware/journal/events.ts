import type Database from 'better-sqlite3';
import type { Entry, EventLevel, JsonValue } from './types.ts';

/** The event and audit log: every row is also a journal entry, so both boxes hold the same history. */
export interface LoggedEvent {
  seq: number;
  epoch: number;
  at: number;
  level: EventLevel;
  source: string;
  message: string;
  data: JsonValue;
}

interface Row {
  seq: number;
  epoch: number;
  at: number;
  level: EventLevel;
  source: string;
  message: string;
  data: string;
}

const toEvent = (r: Row): LoggedEvent => ({ ...r, data: JSON.parse(r.data) as JsonValue });

export class EventsTable {
  private readonly insert;
  private readonly prune;
  private readonly selectAfter;
  private readonly selectSource;
  private readonly selectCount;
  private readonly selectOldest;

  constructor(db: Database.Database) {
    this.insert = db.prepare<[number, number, number, string, string, string, string]>(
      'INSERT INTO events (seq, epoch, at, level, source, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.prune = db.prepare<[number]>('DELETE FROM events WHERE seq < ?');
    this.selectAfter = db.prepare<[number, number], Row>(
      'SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
    );
    this.selectSource = db.prepare<[string, number, number], Row>(
      'SELECT * FROM events WHERE source = ? AND seq > ? ORDER BY seq LIMIT ?',
    );
    this.selectCount = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events');
    this.selectOldest = db.prepare<[number], { seq: number }>(
      'SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?',
    );
  }

  apply(e: Entry): void {
    if (e.kind === 'event.append') {
      const v = e.value;
      this.insert.run(e.seq, e.epoch, e.at, v.level, v.source, v.message, JSON.stringify(v.data));
    } else if (e.kind === 'event.prune') this.prune.run(e.value.beforeSeq);
  }

  /** Events after `afterSeq` in order, optionally from one source. */
  list(options: { afterSeq?: number; limit?: number; source?: string } = {}): LoggedEvent[] {
    const after = options.afterSeq ?? 0;
    const limit = options.limit ?? 1000;
    const rows =
      options.source === undefined
        ? this.selectAfter.all(after, limit)
        : this.selectSource.all(options.source, after, limit);
    return rows.map(toEvent);
  }

  count(): number {
    return this.selectCount.get()?.n ?? 0;
  }

  /** The seq below which rows must go to keep only the newest `keep`, or undefined when under the cap. */
  pruneBoundary(keep: number): number | undefined {
    return this.selectOldest.get(keep - 1)?.seq;
  }
}
