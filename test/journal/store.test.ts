import { closeSync, existsSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JournalError } from '../../firmware/journal/errors.ts';
import { MIGRATIONS, migrate, SCHEMA_VERSION, schemaVersion } from '../../firmware/journal/migrations.ts';
import { JOURNAL_FILE, openJournal } from '../../firmware/journal/recovery.ts';
import { listSnapshots, writeSnapshot } from '../../firmware/journal/snapshots.ts';
import { checkSnapshotFile, Store } from '../../firmware/journal/store.ts';
import type { Change, Entry } from '../../firmware/journal/types.ts';
import { TmpDirs } from './support/tmp.ts';

const tmp = new TmpDirs();
const wall = (): number => 1_700_000_000_000;

const epochChange = (epoch: number, leader = 'a'): Change => ({
  kind: 'journal.epoch',
  value: { epoch, leader },
});
const health = (server: string, state: 'up' | 'down' = 'up'): Change => ({
  kind: 'health.set',
  value: { server, state, detail: '', since: 1 },
});

function freshStore(): { store: Store; dir: string } {
  const dir = tmp.make();
  return { store: Store.open(join(dir, JOURNAL_FILE)), dir };
}

// ---

const migrations = suite('store: numbered migrations');
migrations.after(() => tmp.cleanup());

migrations('a new file is migrated to the latest schema, in WAL mode with synchronous FULL', () => {
  const { store } = freshStore();
  assert.is(schemaVersion(store.db), SCHEMA_VERSION);
  assert.is(MIGRATIONS.map((m) => m.version).join(','), Array.from(MIGRATIONS, (_, i) => i + 1).join(','));
  assert.is(store.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.is(store.db.pragma('synchronous', { simple: true }), 2);
  store.close();
});

migrations('a version-1 file keeps its rows and gains the later tables', () => {
  const dir = tmp.make();
  const path = join(dir, JOURNAL_FILE);
  const raw = new Database(path);
  migrate(raw, 1);
  raw.prepare("INSERT INTO health (server, state, detail, since, seq) VALUES ('rs1', 'up', '', 1, 1)").run();
  raw.close();
  const store = Store.open(path);
  assert.is(schemaVersion(store.db), SCHEMA_VERSION);
  assert.is(store.health.get('rs1')?.state, 'up');
  assert.equal(store.conflicts(), []);
  store.close();
});

migrations('a file from newer firmware is refused, not opened or treated as corrupt', () => {
  const dir = tmp.make();
  const path = join(dir, JOURNAL_FILE);
  const raw = new Database(path);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  assert.throws(
    () => openJournal(dir, { wallTime: wall }),
    (e: unknown) =>
      JournalError.is(e, 'JOURNAL_SCHEMA_TOO_NEW') && e.message.includes(String(SCHEMA_VERSION + 1)),
  );
  assert.ok(existsSync(path), 'the file stays where it was');
  assert.not.ok(existsSync(join(dir, 'corrupt')));
});

migrations.run();

// ---

const log = suite('store: the entry log');
log.after(() => tmp.cleanup());

log('append numbers entries 1, 2, 3 and applies them to the tables in one transaction', () => {
  const { store } = freshStore();
  const written = store.append([epochChange(1), health('rs1'), health('rs2', 'down')], 1, 42);
  assert.equal(
    written.map((e) => [e.seq, e.epoch, e.kind]),
    [
      [1, 1, 'journal.epoch'],
      [2, 1, 'health.set'],
      [3, 1, 'health.set'],
    ],
  );
  assert.equal(store.position(), { head: 3, floor: 1, history: [{ epoch: 1, leader: 'a', startSeq: 1 }] });
  assert.is(store.health.get('rs2')?.state, 'down');
  assert.equal(store.entries(2, 3), written.slice(1));
  assert.equal(store.facts.get().epoch, 1);
  store.close();
});

log('a new epoch must start with its journal.epoch entry; epochs only grow', () => {
  const { store } = freshStore();
  store.append([epochChange(2)], 2, 1);
  assert.throws(
    () => store.append([health('rs1')], 3, 1),
    (e: unknown) => JournalError.is(e, 'JOURNAL_STALE_EPOCH'),
  );
  assert.throws(
    () => store.append([epochChange(2, 'b')], 2, 1),
    (e: unknown) => JournalError.is(e, 'JOURNAL_STALE_EPOCH'),
  );
  assert.is(store.position().head, 1, 'refused batches leave nothing behind');
  store.close();
});

log('replicated entries must continue the log exactly; a bad batch is rolled back whole', () => {
  const { store } = freshStore();
  const e = (seq: number, change: Change, epoch = 1): Entry => ({ ...change, seq, epoch, at: 1 }) as Entry;
  store.applyReplicated([e(1, epochChange(1)), e(2, health('rs1'))]);
  assert.throws(
    () => store.applyReplicated([e(4, health('rs2'))]),
    (x: unknown) => JournalError.is(x, 'JOURNAL_PROTOCOL') && /seq 4 does not follow head 2/.test(x.message),
  );
  assert.throws(() => store.applyReplicated([e(3, health('rs3')), e(5, health('rs4'))]));
  assert.is(store.position().head, 2);
  assert.is(store.health.get('rs3'), undefined, 'the first entry of the failed batch was rolled back');
  store.close();
});

log('truncate drops entries below the floor; the tables keep their effect', () => {
  const { store } = freshStore();
  store.append([epochChange(1), ...Array.from({ length: 9 }, (_, i) => health(`rs${i}`))], 1, 1);
  assert.is(store.truncate(6), 5);
  assert.equal(store.position().floor, 6);
  assert.equal(
    store.entries(1, 10).map((x) => x.seq),
    [6, 7, 8, 9, 10],
  );
  assert.is(store.health.all().length, 9);
  assert.is(store.truncate(3), 0, 'the floor never moves back');
  store.close();
});

log.run();

// ---

const snapshots = suite('store: snapshots and resync install');
snapshots.after(() => tmp.cleanup());

snapshots('writeSnapshot makes a complete, checkable copy and keeps the newest N', () => {
  const { store, dir } = freshStore();
  store.append([epochChange(1), health('rs1')], 1, 1);
  const first = writeSnapshot(store, dir, 2);
  store.append([health('rs2')], 1, 1);
  writeSnapshot(store, dir, 2);
  store.append([health('rs3')], 1, 1);
  const third = writeSnapshot(store, dir, 2);
  assert.equal(
    listSnapshots(dir).map((s) => s.seq),
    [4, 3],
  );
  assert.is(first.seq, 2);
  const pos = checkSnapshotFile(third.path);
  assert.is(pos.head, 4);
  assert.is(pos.schema, SCHEMA_VERSION);
  assert.not.ok(readdirSync(join(dir, 'snapshots')).some((n) => n.includes('tmp')));
  store.close();
});

snapshots('installSnapshot replaces replicated tables and keeps divergent entries as conflicts', () => {
  const leader = freshStore();
  leader.store.append([epochChange(1), health('rs1'), health('rs2')], 1, 1);
  leader.store.append([epochChange(3, 'a'), health('rs1', 'down')], 3, 2);
  const snap = writeSnapshot(leader.store, leader.dir);

  const loser = freshStore();
  loser.store.append([epochChange(1), health('rs1'), health('rs2')], 1, 1);
  loser.store.append([epochChange(2, 'b'), health('rs9'), health('rs8')], 2, 3);
  loser.store.setMeta('node', 'b');
  const moved = loser.store.installSnapshot(snap.path, {
    after: 3,
    winner: 'a',
    winnerEpoch: 3,
    detectedAt: 99,
  });
  assert.is(moved, 3);
  assert.equal(loser.store.position(), leader.store.position());
  assert.is(loser.store.health.get('rs1')?.state, 'down');
  assert.is(loser.store.health.get('rs9'), undefined);
  const conflicts = loser.store.conflicts();
  assert.equal(
    conflicts.map((c) => [c.seq, c.epoch, c.kind, c.winner, c.winnerEpoch]),
    [
      [4, 2, 'journal.epoch', 'a', 3],
      [5, 2, 'health.set', 'a', 3],
      [6, 2, 'health.set', 'a', 3],
    ],
  );
  assert.is(loser.store.meta('node'), 'b', 'local tables are not replaced');
  leader.store.close();
  loser.store.close();
});

snapshots('a damaged snapshot file is refused with JOURNAL_CORRUPT', () => {
  const { store, dir } = freshStore();
  store.append([epochChange(1), health('rs1')], 1, 1);
  const snap = writeSnapshot(store, dir);
  garble(snap.path, 0, 16);
  assert.throws(
    () => store.installSnapshot(snap.path, { after: 0, winner: 'a', winnerEpoch: 1, detectedAt: 1 }),
    (e: unknown) => JournalError.is(e, 'JOURNAL_CORRUPT'),
  );
  assert.is(store.position().head, 2);
  store.close();
});

snapshots.run();

// ---

/** Overwrites `length` bytes at `offset` with a pattern that no SQLite page contains. */
function garble(path: string, offset: number, length: number): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(length, 0xa5), 0, length, offset);
  closeSync(fd);
}

function journalWithSnapshot(rows: number): { dir: string; snapSeq: number } {
  const dir = tmp.make();
  const { store } = openJournal(dir, { wallTime: wall });
  store.append([epochChange(1), ...Array.from({ length: rows }, (_, i) => health(`rs${i}`))], 1, 1);
  const snap = writeSnapshot(store, dir);
  store.append([health('after-snapshot')], 1, 1);
  store.close();
  return { dir, snapSeq: snap.seq };
}

const recovery = suite('recovery: integrity_check at boot, corrupt files kept aside');
recovery.after(() => tmp.cleanup());

recovery('a sound file opens as is', () => {
  const { dir } = journalWithSnapshot(5);
  const { store, outcome } = openJournal(dir, { wallTime: wall });
  assert.equal(outcome, { source: 'file', recovering: false, problems: [], badSnapshots: [] });
  assert.ok(store.health.get('after-snapshot'));
  store.close();
});

recovery('first boot is fresh; a later boot with the file gone restores the snapshot', () => {
  const dir = tmp.make();
  const first = openJournal(dir, { wallTime: wall });
  assert.is(first.outcome.source, 'fresh');
  first.store.append([epochChange(1), health('rs1')], 1, 1);
  writeSnapshot(first.store, dir);
  first.store.close();
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(join(dir, JOURNAL_FILE + suffix))) {
      rmSync(join(dir, JOURNAL_FILE + suffix));
    }
  }
  const again = openJournal(dir, { wallTime: wall });
  assert.is(again.outcome.source, 'snapshot', 'never a silent empty start');
  assert.ok(again.outcome.recovering);
  assert.ok(again.store.health.get('rs1'));
  again.store.close();
});

recovery('a file with a destroyed header is moved aside and the newest good snapshot restored', () => {
  const { dir, snapSeq } = journalWithSnapshot(50);
  garble(join(dir, JOURNAL_FILE), 0, 100);
  const { store, outcome } = openJournal(dir, { wallTime: wall });
  assert.is(outcome.source, 'snapshot');
  assert.is(outcome.snapshotSeq, snapSeq);
  assert.ok(outcome.recovering);
  assert.ok(outcome.problems.length > 0);
  assert.ok(outcome.corruptPath && existsSync(outcome.corruptPath), 'the damaged file is kept');
  assert.is(store.position().head, snapSeq);
  assert.is(store.meta('recovering'), '1');
  assert.equal(store.integrityCheck(), []);
  store.close();
  const reopened = openJournal(dir, { wallTime: wall });
  assert.is(reopened.outcome.source, 'file');
  assert.ok(reopened.outcome.recovering, 'still waiting for the peer after a restart');
  reopened.store.close();
});

recovery('damage inside the b-tree is found by integrity_check', () => {
  const { dir } = journalWithSnapshot(3000);
  const path = join(dir, JOURNAL_FILE);
  const size = statSync(path).size;
  garble(path, Math.floor(size / 2 / 4096) * 4096 + 16, 2048);
  const { store, outcome } = openJournal(dir, { wallTime: wall });
  assert.is(outcome.source, 'snapshot', `problems: ${outcome.problems.join('; ')}`);
  assert.equal(store.integrityCheck(), []);
  store.close();
});

recovery('damaged snapshots are skipped; with none left the node starts empty and says so', () => {
  const { dir } = journalWithSnapshot(5);
  garble(join(dir, JOURNAL_FILE), 0, 100);
  for (const s of listSnapshots(dir)) garble(s.path, 0, 100);
  const { store, outcome } = openJournal(dir, { wallTime: wall });
  assert.is(outcome.source, 'empty');
  assert.ok(outcome.recovering);
  assert.is(outcome.badSnapshots.length, 1);
  assert.is(store.position().head, 0);
  store.close();
});

recovery.run();
