import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame } from './codec.ts';
import { canceled, JournalError } from './errors.ts';
import { snapshotDir } from './snapshots.ts';
import type { Store } from './store.ts';

/** Snapshot resync over the replication connection: the leader streams a fresh copy, the follower installs it. */
const CHUNK_BYTES = 256 * 1024;

function hashFile(path: string, size: number): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(CHUNK_BYTES);
    for (let at = 0; at < size; ) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK_BYTES, size - at), at);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Writes a fresh snapshot of `store` and streams it as snapBegin, snapChunk…, snapEnd through `send`
 * (which resolves when the socket can take more). Returns the snapshot's head seq.
 */
export async function streamSnapshot(options: {
  store: Store;
  dir: string;
  name: string;
  conflictsAfter: number;
  leader: string;
  epoch: number;
  send: (frame: Frame) => Promise<void>;
  signal: AbortSignal;
}): Promise<number> {
  const { store, send, signal, epoch } = options;
  const file = join(snapshotDir(options.dir), `transfer-${options.name}.db`);
  rmSync(file, { force: true });
  try {
    const seq = store.snapshotTo(file);
    const size = statSync(file).size;
    const sha256 = hashFile(file, size);
    await send({
      type: 'snapBegin',
      epoch,
      seq,
      size,
      sha256,
      conflictsAfter: options.conflictsAfter,
      leader: options.leader,
    });
    const fd = openSync(file, 'r');
    try {
      for (let offset = 0; offset < size; ) {
        if (signal.aborted) throw canceled(signal, 'snapshot transfer');
        const data = Buffer.alloc(Math.min(CHUNK_BYTES, size - offset));
        const n = readSync(fd, data, 0, data.length, offset);
        if (n !== data.length)
          throw new JournalError('JOURNAL_IO', `snapshot ${file} shrank while being sent`);
        await send({ type: 'snapChunk', epoch, seq, offset, data });
        offset += n;
      }
    } finally {
      closeSync(fd);
    }
    await send({ type: 'snapEnd', epoch, seq });
    return seq;
  } finally {
    rmSync(file, { force: true });
  }
}

export interface IncomingSnapshot {
  seq: number;
  size: number;
  sha256: string;
  conflictsAfter: number;
  leader: string;
  epoch: number;
}

/** The follower's side: collects chunks in `<dir>/snapshots/incoming.db`, then verifies and installs. */
export class SnapshotReceiver {
  private fd: number | undefined;
  private meta: IncomingSnapshot | undefined;
  private hash = createHash('sha256');
  private readonly file: string;

  constructor(dir: string) {
    this.file = join(snapshotDir(dir), 'incoming.db');
  }

  begin(meta: IncomingSnapshot): void {
    this.abort();
    this.meta = meta;
    this.hash = createHash('sha256');
    this.fd = openSync(this.file, 'w');
  }

  chunk(offset: number, data: Buffer): void {
    if (this.fd === undefined)
      throw new JournalError('JOURNAL_PROTOCOL', 'snapshot chunk without a snapshot');
    writeSync(this.fd, data, 0, data.length, offset);
    this.hash.update(data);
  }

  /** Verifies size and hash, then replaces the replicated tables. Returns the entries kept as conflicts. */
  install(store: Store, detectedAt: number): number {
    const meta = this.meta;
    const fd = this.fd;
    if (meta === undefined || fd === undefined)
      throw new JournalError('JOURNAL_PROTOCOL', 'no snapshot to install');
    try {
      fsyncSync(fd);
      closeSync(fd);
      this.fd = undefined;
      const digest = this.hash.digest('hex');
      if (digest !== meta.sha256) {
        throw new JournalError(
          'JOURNAL_CORRUPT',
          `received snapshot hashes to ${digest}, leader sent ${meta.sha256}`,
        );
      }
      return store.installSnapshot(this.file, {
        after: meta.conflictsAfter,
        winner: meta.leader,
        winnerEpoch: meta.epoch,
        detectedAt,
      });
    } finally {
      this.abort();
    }
  }

  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.meta = undefined;
    rmSync(this.file, { force: true });
    rmSync(`${this.file}-wal`, { force: true });
    rmSync(`${this.file}-shm`, { force: true });
  }
}
