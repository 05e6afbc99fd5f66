import { closeSync, fsyncSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ConfigTable } from './config.ts';
import { ioError, JournalError } from './errors.ts';
import { EventsTable } from './events.ts';
import { FactsTable } from './facts.ts';
import { HealthTable } from './health.ts';
import { extend, topEpoch } from './history.ts';
import { migrate, SCHEMA_VERSION, schemaVersion } from './migrations.ts';
import { StickyTable } from './sticky.ts';
import type { Change, Entry, EntryKind, EpochRecord, LogPosition } from './types.ts';

/**
 * `synchronous` under WAL: FULL fsyncs the WAL at every commit, so a committed entry survives power loss;
 * NORMAL fsyncs only at checkpoints, so it survives a process crash but a power cut may drop the last
 * commits. A journal whose acknowledgement promises durability needs FULL (bench/journal.ts measures both;
 * group commit keeps FULL above target).
 */
export type Synchronous = 'FULL' | 'NORMAL';

export interface StoreOptions {
  synchronous?: Synchronous;
  readonly?: boolean;
}

/** A divergent entry kept when a split brain healed against this node. */
export interface Conflict {
  id: number;
  seq: number;
  epoch: number;
  kind: EntryKind;
  value: unknown;
  at: number;
  winner: string;
  winnerEpoch: number;
  detectedAt: number;
}

interface ConflictRow {
  id: number;
  seq: number;
  epoch: number;
  kind: EntryKind;
  value: string;
  at: number;
  winner: string;
  winner_epoch: number;
  detected_at: number;
}

interface EntryRow {
  seq: number;
  epoch: number;
  kind: string;
  value: string;
  at: number;
}

/** Tables a snapshot resync replaces, in an order that needs no foreign keys. */
const REPLICATED_TABLES = [
  'log_state',
  'epochs',
  'entries',
  'config_versions',
  'config_candidate',
  'health',
  'sticky',
  'cluster_facts',
  'events',
] as const;

export function rowToEntry(r: EntryRow): Entry {
  return { kind: r.kind, value: JSON.parse(r.value), seq: r.seq, epoch: r.epoch, at: r.at } as Entry;
}

/**
 * The journal file: one better-sqlite3 handle in WAL mode, the entry log and the typed tables it feeds.
 * Every method is synchronous and every write is one transaction: the entries and the table rows they
 * produce commit together or not at all. The in-memory log position is updated only after a commit.
 */
export class Store {
  readonly db: Database.Database;
  readonly path: string;
  readonly config: ConfigTable;
  readonly health: HealthTable;
  readonly sticky: StickyTable;
  readonly facts: FactsTable;
  readonly events: EventsTable;
  private pos: LogPosition;
  private readonly stmts;
  private readonly applyTx;

  private constructor(db: Database.Database, path: string) {
    this.db = db;
    this.path = path;
    this.config = new ConfigTable(db);
    this.health = new HealthTable(db);
    this.sticky = new StickyTable(db);
    this.facts = new FactsTable(db);
    this.events = new EventsTable(db);
    this.stmts = {
      insertEntry: db.prepare<[number, number, string, string, number]>(
        'INSERT INTO entries (seq, epoch, kind, value, at) VALUES (?, ?, ?, ?, ?)',
      ),
      insertEpoch: db.prepare<[number, string, number]>(
        'INSERT INTO epochs (epoch, leader, start_seq) VALUES (?, ?, ?)',
      ),
      setHead: db.prepare<[number]>('UPDATE log_state SET head = ? WHERE id = 1'),
      setFloor: db.prepare<[number]>('UPDATE log_state SET floor = ? WHERE id = 1'),
      logState: db.prepare<[], { head: number; floor: number }>(
        'SELECT head, floor FROM log_state WHERE id = 1',
      ),
      epochs: db.prepare<[], { epoch: number; leader: string; start_seq: number }>(
        'SELECT epoch, leader, start_seq FROM epochs ORDER BY epoch',
      ),
      range: db.prepare<[number, number], EntryRow>(
        'SELECT seq, epoch, kind, value, at FROM entries WHERE seq BETWEEN ? AND ? ORDER BY seq',
      ),
      truncate: db.prepare<[number]>('DELETE FROM entries WHERE seq < ?'),
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare<[string, string]>('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
      moveDivergent: db.prepare<[string, number, number, number]>(
        `INSERT INTO conflicts (seq, epoch, kind, value, at, winner, winner_epoch, detected_at)
         SELECT seq, epoch, kind, value, at, ?, ?, ? FROM entries WHERE seq > ? ORDER BY seq`,
      ),
      conflicts: db.prepare<[number], ConflictRow>('SELECT * FROM conflicts WHERE id > ? ORDER BY id'),
    };
    this.applyTx = db.transaction((entries: readonly Entry[]) => this.applyInTransaction(entries));
    this.pos = this.readPosition();
  }

  /** Opens (creating when missing) and migrates the file at `path`. Does not check integrity: see recovery.ts. */
  static open(path: string, options: StoreOptions = {}): Store {
    let db: Database.Database | undefined;
    try {
      db = new Database(path, {
        readonly: options.readonly ?? false,
        fileMustExist: options.readonly ?? false,
      });
      if (!options.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
        db.pragma('cache_size = -32768');
        migrate(db);
      }
      return new Store(db, path);
    } catch (err) {
      db?.close();
      throw ioError(err, `opening journal ${path}`);
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  position(): LogPosition {
    return { head: this.pos.head, floor: this.pos.floor, history: [...this.pos.history] };
  }

  /** PRAGMA integrity_check: an empty list when the file is sound, otherwise SQLite's complaints. */
  integrityCheck(): string[] {
    const rows = this.db.pragma('integrity_check') as { integrity_check: string }[];
    const problems = rows.map((r) => r.integrity_check).filter((m) => m !== 'ok');
    return problems;
  }

  meta(key: string): string | undefined {
    return this.stmts.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }

  /**
   * Numbers and applies local changes in one transaction, in epoch `epoch` (the leader's). A new epoch
   * must begin with its journal.epoch entry. Returns the entries as written.
   */
  append(changes: readonly Change[], epoch: number, at: number): Entry[] {
    let head = this.pos.head;
    const entries = changes.map((c) => ({ ...c, seq: ++head, epoch, at }) as Entry);
    this.applyEntries(entries);
    return entries;
  }

  /** Applies entries received from the leader; they must continue this log exactly (seq = head + 1, …). */
  applyReplicated(entries: readonly Entry[]): void {
    this.applyEntries(entries);
  }

  private applyEntries(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    try {
      this.pos = this.applyTx.immediate(entries);
    } catch (err) {
      throw JournalError.is(err)
        ? err
        : ioError(err, `writing entries ${entries[0]?.seq}..${entries[entries.length - 1]?.seq}`);
    }
  }

  /** The body of the write transaction; returns the new position, which the caller adopts after commit. */
  private applyInTransaction(entries: readonly Entry[]): LogPosition {
    let head = this.pos.head;
    let history = this.pos.history;
    for (const e of entries) {
      if (e.seq !== head + 1) {
        throw new JournalError('JOURNAL_PROTOCOL', `entry seq ${e.seq} does not follow head ${head}`);
      }
      const top = topEpoch(history);
      if (e.kind === 'journal.epoch') {
        if (e.value.epoch !== e.epoch || e.epoch <= top) {
          throw new JournalError(
            'JOURNAL_STALE_EPOCH',
            `epoch entry ${e.seq} starts epoch ${e.value.epoch} in epoch ${e.epoch}, after epoch ${top}`,
          );
        }
        history = extend(history, { epoch: e.epoch, leader: e.value.leader, startSeq: e.seq });
        this.stmts.insertEpoch.run(e.epoch, e.value.leader, e.seq);
      } else if (e.epoch !== top) {
        throw new JournalError(
          'JOURNAL_STALE_EPOCH',
          `entry ${e.seq} has epoch ${e.epoch} but the log is in epoch ${top} (a new epoch starts with journal.epoch)`,
        );
      }
      this.stmts.insertEntry.run(e.seq, e.epoch, e.kind, JSON.stringify(e.value), e.at);
      this.applyTables(e);
      head = e.seq;
    }
    this.stmts.setHead.run(head);
    return { head, floor: this.pos.floor, history };
  }

  private applyTables(e: Entry): void {
    switch (e.kind) {
      case 'journal.epoch':
      case 'cluster.role':
      case 'cluster.peer':
        this.facts.apply(e);
        return;
      case 'config.candidate':
      case 'config.commit':
        this.config.apply(e);
        return;
      case 'health.set':
      case 'health.delete':
        this.health.apply(e);
        return;
      case 'sticky.set':
      case 'sticky.delete':
      case 'sticky.expire':
        this.sticky.apply(e);
        return;
      case 'event.append':
      case 'event.prune':
        this.events.apply(e);
        return;
    }
  }

  /** Runs `fn` in one write transaction (for read-check-append sequences such as a config commit). */
  transact<T>(fn: () => T): T {
    const before = this.pos;
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      this.pos = before;
      throw err;
    }
  }

  /** Entries from..to inclusive that are still in the log (none below the floor). */
  entries(from: number, to: number): Entry[] {
    return this.stmts.range.all(from, to).map(rowToEntry);
  }

  /** Drops log entries below `floor` (their effect stays in the tables). */
  truncate(floor: number): number {
    const target = Math.min(floor, this.pos.head + 1);
    if (target <= this.pos.floor) return 0;
    const removed = this.db.transaction(() => {
      const r = this.stmts.truncate.run(target);
      this.stmts.setFloor.run(target);
      return r.changes;
    })();
    this.pos = { ...this.pos, floor: target };
    return removed;
  }

  /**
   * Writes a consistent copy of the whole file to `file` (which must not exist) and fsyncs it, since
   * VACUUM INTO does not. Returns the head seq the copy holds.
   */
  snapshotTo(file: string): number {
    const head = this.pos.head;
    this.db.prepare('VACUUM INTO ?').run(file);
    const fd = openSync(file, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return head;
  }

  /**
   * Replaces every replicated table with the snapshot file's, in one transaction. Entries of this log
   * after `conflictsAfter` are divergent: they are copied to the conflict table first, never dropped.
   * Returns how many were kept aside.
   */
  installSnapshot(
    file: string,
    conflict: { after: number; winner: string; winnerEpoch: number; detectedAt: number },
  ): number {
    if (checkSnapshotFile(file).schema < SCHEMA_VERSION) migrateSnapshotFile(file);
    this.db.prepare('ATTACH DATABASE ? AS snap').run(file);
    let moved = 0;
    try {
      this.db
        .transaction(() => {
          moved = this.stmts.moveDivergent.run(
            conflict.winner,
            conflict.winnerEpoch,
            conflict.detectedAt,
            conflict.after,
          ).changes;
          for (const table of REPLICATED_TABLES) {
            this.db.exec(`DELETE FROM main.${table}; INSERT INTO main.${table} SELECT * FROM snap.${table};`);
          }
          this.stmts.setMeta.run('recovering', '0');
        })
        .immediate();
    } catch (err) {
      throw ioError(err, `installing snapshot ${file}`);
    } finally {
      this.db.exec('DETACH DATABASE snap');
    }
    this.pos = this.readPosition();
    return moved;
  }

  /** Divergent entries kept from healed split brains, oldest first. */
  conflicts(afterId = 0): Conflict[] {
    return this.stmts.conflicts.all(afterId).map((r) => ({
      id: r.id,
      seq: r.seq,
      epoch: r.epoch,
      kind: r.kind,
      value: JSON.parse(r.value) as unknown,
      at: r.at,
      winner: r.winner,
      winnerEpoch: r.winner_epoch,
      detectedAt: r.detected_at,
    }));
  }

  private readPosition(): LogPosition {
    const state = this.stmts.logState.get();
    if (state === undefined) throw new JournalError('JOURNAL_CORRUPT', `${this.path} has no log_state row`);
    const history: EpochRecord[] = this.stmts.epochs
      .all()
      .map((r) => ({ epoch: r.epoch, leader: r.leader, startSeq: r.start_seq }));
    return { head: state.head, floor: state.floor, history };
  }
}

/**
 * Checks a snapshot file without changing it: integrity_check must pass and its schema must be one this
 * firmware knows (JOURNAL_CORRUPT / JOURNAL_SCHEMA_TOO_NEW otherwise). Returns its log position.
 */
export function checkSnapshotFile(file: string): LogPosition & { schema: number } {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    const problems = rows.map((r) => r.integrity_check).filter((m) => m !== 'ok');
    if (problems.length > 0) {
      throw new JournalError('JOURNAL_CORRUPT', `snapshot ${file}: ${problems.slice(0, 3).join('; ')}`);
    }
    const schema = schemaVersion(db);
    if (schema > SCHEMA_VERSION) {
      throw new JournalError(
        'JOURNAL_SCHEMA_TOO_NEW',
        `snapshot ${file} has schema ${schema} > ${SCHEMA_VERSION}`,
      );
    }
    const state = db.prepare<[], { head: number; floor: number }>('SELECT head, floor FROM log_state').get();
    if (state === undefined)
      throw new JournalError('JOURNAL_CORRUPT', `snapshot ${file} has no log_state row`);
    const history = db
      .prepare<[], { epoch: number; leader: string; start_seq: number }>(
        'SELECT epoch, leader, start_seq FROM epochs ORDER BY epoch',
      )
      .all()
      .map((r) => ({ epoch: r.epoch, leader: r.leader, startSeq: r.start_seq }));
    return { head: state.head, floor: state.floor, history, schema };
  } catch (err) {
    throw JournalError.is(err)
      ? err
      : new JournalError('JOURNAL_CORRUPT', `snapshot ${file}: ${String(err)}`, { cause: err });
  } finally {
    db?.close();
  }
}

/** Brings a snapshot file written by older firmware up to this schema, in place. */
export function migrateSnapshotFile(file: string): void {
  const db = new Database(file, { fileMustExist: true });
  try {
    migrate(db);
  } finally {
    db.close();
  }
}
