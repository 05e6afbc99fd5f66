/**
 * The cluster's two numbers that must survive a restart on every node, leader or not: the boot counter
 * (the peer drops frames from a boot older than one it has seen) and the highest epoch this node has
 * made durable (a fencing token is never reused). A small JSON file next to the journal, replaced
 * atomically (write, fsync, rename, fsync the directory): the standby's journal cannot take local
 * writes, so these cannot live there.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface BootRecord {
  readonly boot: number;
  readonly epoch: number;
}

const MAX_U32 = 2 ** 32 - 1;
const isU32 = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_U32;

/**
 * The record at `path`: `{ boot: 0, epoch: 0 }` when there is none. A damaged file is reported through
 * `problem` and replaced by a boot counter taken from the wall clock in seconds, which is above any
 * counter an earlier boot could have reached by counting restarts.
 */
export function readBootRecord(path: string, wallTimeMs: number): { record: BootRecord; problem?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { record: { boot: 0, epoch: 0 } };
    throw err;
  }
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (isU32(v.boot) && isU32(v.epoch)) return { record: { boot: v.boot, epoch: v.epoch } };
  } catch {
    // reported below
  }
  const boot = Math.floor(wallTimeMs / 1000) % MAX_U32;
  return { record: { boot, epoch: 0 }, problem: `${path} is damaged (${JSON.stringify(text.slice(0, 60))})` };
}

export function writeBootRecord(path: string, record: BootRecord): void {
  if (!isU32(record.boot) || !isU32(record.epoch)) {
    throw new RangeError(`boot record needs u32 boot and epoch, got ${JSON.stringify(record)}`);
  }
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
