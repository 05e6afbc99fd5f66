import type Database from 'better-sqlite3';
import type { Entry } from './types.ts';

/**
 * Persistence (sticky) bindings: client → real server per virtual service, each with an expiry in wall
 * ms. Expiry is a persisted deadline shared by both boxes, so it has to be wall time; reads treat an
 * expired binding as absent at once, and the leader's periodic `sticky.expire` entry deletes the rows.
 */
export interface StickyBinding {
  service: string;
  client: string;
  server: string;
  expiresAt: number;
  seq: number;
}

interface Row {
  service: string;
  client: string;
  server: string;
  expires_at: number;
  seq: number;
}

const toBinding = (r: Row): StickyBinding => ({
  service: r.service,
  client: r.client,
  server: r.server,
  expiresAt: r.expires_at,
  seq: r.seq,
});

export class StickyTable {
  private readonly upsert;
  private readonly remove;
  private readonly expire;
  private readonly selectOne;
  private readonly selectService;
  private readonly countLive;
  private readonly countExpired;

  constructor(db: Database.Database) {
    this.upsert = db.prepare<[string, string, string, number, number]>(
      'INSERT OR REPLACE INTO sticky (service, client, server, expires_at, seq) VALUES (?, ?, ?, ?, ?)',
    );
    this.remove = db.prepare<[string, string]>('DELETE FROM sticky WHERE service = ? AND client = ?');
    this.expire = db.prepare<[number]>('DELETE FROM sticky WHERE expires_at <= ?');
    this.selectOne = db.prepare<[string, string, number], Row>(
      'SELECT * FROM sticky WHERE service = ? AND client = ? AND expires_at > ?',
    );
    this.selectService = db.prepare<[string, number], Row>(
      'SELECT * FROM sticky WHERE service = ? AND expires_at > ? ORDER BY client',
    );
    this.countLive = db.prepare<[number], { n: number }>(
      'SELECT count(*) AS n FROM sticky WHERE expires_at > ?',
    );
    this.countExpired = db.prepare<[number], { n: number }>(
      'SELECT count(*) AS n FROM sticky WHERE expires_at <= ?',
    );
  }

  apply(e: Entry): void {
    if (e.kind === 'sticky.set') {
      const v = e.value;
      this.upsert.run(v.service, v.client, v.server, v.expiresAt, e.seq);
    } else if (e.kind === 'sticky.delete') this.remove.run(e.value.service, e.value.client);
    else if (e.kind === 'sticky.expire') this.expire.run(e.value.before);
  }

  /** The live binding for (service, client) at wall time `now`, or undefined when absent or expired. */
  get(service: string, client: string, now: number): StickyBinding | undefined {
    const r = this.selectOne.get(service, client, now);
    return r && toBinding(r);
  }

  /** Live bindings of one virtual service at wall time `now`. */
  list(service: string, now: number): StickyBinding[] {
    return this.selectService.all(service, now).map(toBinding);
  }

  count(now: number): number {
    return this.countLive.get(now)?.n ?? 0;
  }

  /** Rows that have expired by `now` but are still stored (what the next sweep deletes). */
  expiredCount(now: number): number {
    return this.countExpired.get(now)?.n ?? 0;
  }
}
