import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { JournalError } from './errors.ts';
import { fsyncDir, listSnapshots, newestGoodSnapshot, snapshotDir } from './snapshots.ts';
import { Store, type Synchronous } from './store.ts';

/**
 * Boot-time recovery of the journal file. SQLite replays its WAL on open; then `integrity_check` runs.
 * A damaged (or vanished) file is never replaced by a silent empty start: it is moved to `<dir>/corrupt/`,
 * the newest snapshot that passes its own integrity_check is restored, and the node is marked
 * `recovering` until the peer has resynced it (it may not lead before that unless forced).
 */
export type RecoverySource =
  | 'fresh' // first boot: no journal and no snapshot existed
  | 'file' // the journal file was sound
  | 'snapshot' // the journal file was damaged or missing; the newest good snapshot was restored
  | 'empty'; // damaged or missing and no good snapshot: empty, waiting for the peer

export interface RecoveryOutcome {
  source: RecoverySource;
  /** True when the node must take a snapshot from the peer before it may lead. */
  recovering: boolean;
  /** What integrity_check or opening the file reported. */
  problems: string[];
  /** Where the damaged file was moved. */
  corruptPath?: string;
  /** Head seq of the restored snapshot. */
  snapshotSeq?: number;
  /** Snapshots skipped because they were damaged. */
  badSnapshots: string[];
}

export const JOURNAL_FILE = 'journal.db';

export function openJournal(
  dir: string,
  options: { synchronous?: Synchronous; wallTime: () => number },
): { store: Store; outcome: RecoveryOutcome } {
  mkdirSync(snapshotDir(dir), { recursive: true });
  for (const name of readdirSync(snapshotDir(dir))) {
    if (name.startsWith('snap.tmp-')) rmSync(join(snapshotDir(dir), name), { force: true });
  }
  const path = join(dir, JOURNAL_FILE);
  const open = (): Store => Store.open(path, options.synchronous ? { synchronous: options.synchronous } : {});
  let problems: string[];
  if (existsSync(path)) {
    try {
      const store = open();
      problems = store.integrityCheck();
      if (problems.length === 0) {
        const recovering = store.meta('recovering') === '1';
        return { store, outcome: { source: 'file', recovering, problems, badSnapshots: [] } };
      }
      store.close();
    } catch (err) {
      if (JournalError.is(err, 'JOURNAL_SCHEMA_TOO_NEW')) throw err;
      problems = [err instanceof Error ? err.message : String(err)];
    }
  } else if (listSnapshots(dir).length > 0) {
    problems = [`${path} is missing but snapshots exist`];
  } else {
    const store = open();
    return { store, outcome: { source: 'fresh', recovering: false, problems: [], badSnapshots: [] } };
  }

  const corruptPath = existsSync(path) ? moveAside(dir, path, options.wallTime()) : undefined;
  const badSnapshots: string[] = [];
  const snap = newestGoodSnapshot(dir, (file) => badSnapshots.push(file));
  if (snap) copyFileSync(snap.path, path);
  const store = open();
  store.setMeta('recovering', '1');
  const outcome: RecoveryOutcome = {
    source: snap ? 'snapshot' : 'empty',
    recovering: true,
    problems,
    badSnapshots,
    ...(corruptPath === undefined ? {} : { corruptPath }),
    ...(snap ? { snapshotSeq: snap.seq } : {}),
  };
  return { store, outcome };
}

/** Moves the journal and its -wal/-shm files into `<dir>/corrupt/`, named by wall time; returns the new path. */
function moveAside(dir: string, path: string, wall: number): string {
  const cdir = join(dir, 'corrupt');
  mkdirSync(cdir, { recursive: true });
  const stamp = new Date(wall).toISOString().replace(/[:.]/g, '-');
  const target = join(cdir, `journal-${stamp}.db`);
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  }
  fsyncDir(cdir);
  fsyncDir(dir);
  return target;
}
