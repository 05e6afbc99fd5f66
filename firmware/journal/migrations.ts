import type Database from 'better-sqlite3';
import { JournalError } from './errors.ts';

/**
 * Numbered schema migrations. `PRAGMA user_version` holds the number of the last one applied; each runs
 * in its own transaction, so a crash mid-upgrade leaves the previous version intact. Never edit a
 * migration that has shipped: add the next number.
 *
 * Replicated tables (copied by a snapshot resync): log_state, epochs, entries, config_versions,
 * config_candidate, health, sticky, cluster_facts, events. Local tables: meta, conflicts.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'log, configuration, health, persistence, cluster facts, events',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE log_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        head INTEGER NOT NULL,
        floor INTEGER NOT NULL
      );
      INSERT INTO log_state (id, head, floor) VALUES (1, 0, 1);
      CREATE TABLE epochs (
        epoch INTEGER PRIMARY KEY,
        leader TEXT NOT NULL,
        start_seq INTEGER NOT NULL
      );
      CREATE TABLE entries (
        seq INTEGER PRIMARY KEY,
        epoch INTEGER NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        at REAL NOT NULL
      );
      CREATE TABLE config_versions (
        version INTEGER PRIMARY KEY,
        doc TEXT NOT NULL,
        comment TEXT NOT NULL,
        author TEXT NOT NULL,
        rollback_of INTEGER,
        seq INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        at REAL NOT NULL
      );
      CREATE TABLE config_candidate (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        doc TEXT NOT NULL,
        base_version INTEGER NOT NULL,
        author TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at REAL NOT NULL
      );
      CREATE TABLE health (
        server TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        detail TEXT NOT NULL,
        since REAL NOT NULL,
        seq INTEGER NOT NULL
      );
      CREATE TABLE sticky (
        service TEXT NOT NULL,
        client TEXT NOT NULL,
        server TEXT NOT NULL,
        expires_at REAL NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (service, client)
      ) WITHOUT ROWID;
      CREATE INDEX sticky_expiry ON sticky (expires_at);
      CREATE TABLE cluster_facts (name TEXT PRIMARY KEY, value TEXT NOT NULL, seq INTEGER NOT NULL);
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        epoch INTEGER NOT NULL,
        at REAL NOT NULL,
        level TEXT NOT NULL,
        source TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'conflict table for split-brain losers, event lookup by source',
    sql: `
      CREATE TABLE conflicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        seq INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        at REAL NOT NULL,
        winner TEXT NOT NULL,
        winner_epoch INTEGER NOT NULL,
        detected_at REAL NOT NULL
      );
      CREATE INDEX events_source ON events (source, seq);
    `,
  },
  {
    version: 3,
    name: 'structured health records (action, weight, quorum, sorry server, appliance score)',
    sql: `ALTER TABLE health ADD COLUMN data TEXT NOT NULL DEFAULT 'null';`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings `db` up to `target` (default: the latest). Returns the versions applied. A file from newer firmware
 * is refused with JOURNAL_SCHEMA_TOO_NEW rather than opened and misread.
 */
export function migrate(db: Database.Database, target = SCHEMA_VERSION): number[] {
  const current = schemaVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new JournalError(
      'JOURNAL_SCHEMA_TOO_NEW',
      `${db.name} has schema version ${current}, this firmware knows up to ${SCHEMA_VERSION}`,
    );
  }
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= current || m.version > target) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
    applied.push(m.version);
  }
  return applied;
}
