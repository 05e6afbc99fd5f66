import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ioError } from './errors.ts';
import { checkSnapshotFile, type Store } from './store.ts';
import type { LogPosition } from './types.ts';

/**
 * Checkpoint files in `<dir>/snapshots`: `snap-<head seq>.db`, each a complete SQLite copy of the journal
 * written to a temporary name, fsynced, renamed into place and the directory fsynced, so a file with
 * the final name is always whole.
 */
const NAME = /^snap-(\d{16})\.db$/;

export interface SnapshotFile {
  path: string;
  seq: number;
}

export function snapshotDir(dir: string): string {
  return join(dir, 'snapshots');
}

/** Snapshot files, newest first. */
export function listSnapshots(dir: string): SnapshotFile[] {
  let names: string[];
  try {
    names = readdirSync(snapshotDir(dir));
  } catch {
    return [];
  }
  return names
    .map((n) => ({ n, m: NAME.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .map(({ n, m }) => ({ path: join(snapshotDir(dir), n), seq: Number(m[1]) }))
    .sort((a, b) => b.seq - a.seq);
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes a new snapshot of `store` and keeps the newest `keep`. Returns it. */
export function writeSnapshot(store: Store, dir: string, keep = 2): SnapshotFile {
  const sdir = snapshotDir(dir);
  const tmp = join(sdir, `snap.tmp-${process.pid}`);
  try {
    mkdirSync(sdir, { recursive: true });
    rmSync(tmp, { force: true });
    const seq = store.snapshotTo(tmp);
    const path = join(sdir, `snap-${String(seq).padStart(16, '0')}.db`);
    renameSync(tmp, path);
    fsyncDir(sdir);
    for (const old of listSnapshots(dir).slice(keep)) rmSync(old.path, { force: true });
    return { path, seq };
  } catch (err) {
    rmSync(tmp, { force: true });
    throw ioError(err, `writing a snapshot in ${sdir}`);
  }
}

/** The newest snapshot that passes integrity_check, with its position; damaged ones are skipped. */
export function newestGoodSnapshot(
  dir: string,
  onBad: (file: string, err: unknown) => void,
): (SnapshotFile & { position: LogPosition }) | undefined {
  for (const snap of listSnapshots(dir)) {
    try {
      return { ...snap, position: checkSnapshotFile(snap.path) };
    } catch (err) {
      onBad(snap.path, err);
    }
  }
  return undefined;
}
