import type Database from 'better-sqlite3';
import type { Entry, HealthState, JsonValue } from './types.ts';

/** Health as the monitor last reported it: one row per key (a real server, or a reserved record key). */
export interface ServerHealth {
  server: string;
  state: HealthState;
  detail: string;
  /** Wall ms when the row was last written (as reported by the monitor). */
  since: number;
  seq: number;
  /** The record's structured fields; null for rows written without any. */
  data: JsonValue;
}

interface Row {
  server: string;
  state: HealthState;
  detail: string;
  since: number;
  seq: number;
  data: string;
}

function fromRow(row: Row | undefined): ServerHealth | undefined {
  return row === undefined ? undefined : { ...row, data: JSON.parse(row.data) as JsonValue };
}

export class HealthTable {
  private readonly upsert;
  private readonly remove;
  private readonly selectOne;
  private readonly selectAll;

  constructor(db: Database.Database) {
    this.upsert = db.prepare<[string, string, string, number, number, string]>(
      'INSERT OR REPLACE INTO health (server, state, detail, since, seq, data) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.remove = db.prepare<[string]>('DELETE FROM health WHERE server = ?');
    this.selectOne = db.prepare<[string], Row>('SELECT * FROM health WHERE server = ?');
    this.selectAll = db.prepare<[], Row>('SELECT * FROM health ORDER BY server');
  }

  apply(e: Entry): void {
    if (e.kind === 'health.set') {
      const v = e.value;
      this.upsert.run(v.server, v.state, v.detail, v.since, e.seq, JSON.stringify(v.data ?? null));
    } else if (e.kind === 'health.delete') this.remove.run(e.value.server);
  }

  get(server: string): ServerHealth | undefined {
    return fromRow(this.selectOne.get(server));
  }

  all(): ServerHealth[] {
    return this.selectAll.all().map((row) => ({ ...row, data: JSON.parse(row.data) as JsonValue }));
  }
}
