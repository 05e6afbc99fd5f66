import type Database from 'better-sqlite3';
import type { Entry, HealthState } from './types.ts';

/** Real-server health as the monitor last reported it: one row per server. */
export interface ServerHealth {
  server: string;
  state: HealthState;
  detail: string;
  /** Wall ms when the state last changed (as reported by the monitor). */
  since: number;
  seq: number;
}

interface Row {
  server: string;
  state: HealthState;
  detail: string;
  since: number;
  seq: number;
}

export class HealthTable {
  private readonly upsert;
  private readonly remove;
  private readonly selectOne;
  private readonly selectAll;

  constructor(db: Database.Database) {
    this.upsert = db.prepare<[string, string, string, number, number]>(
      'INSERT OR REPLACE INTO health (server, state, detail, since, seq) VALUES (?, ?, ?, ?, ?)',
    );
    this.remove = db.prepare<[string]>('DELETE FROM health WHERE server = ?');
    this.selectOne = db.prepare<[string], Row>('SELECT * FROM health WHERE server = ?');
    this.selectAll = db.prepare<[], Row>('SELECT * FROM health ORDER BY server');
  }

  apply(e: Entry): void {
    if (e.kind === 'health.set') {
      this.upsert.run(e.value.server, e.value.state, e.value.detail, e.value.since, e.seq);
    } else if (e.kind === 'health.delete') this.remove.run(e.value.server);
  }

  get(server: string): ServerHealth | undefined {
    return this.selectOne.get(server);
  }

  all(): ServerHealth[] {
    return this.selectAll.all();
  }
}
