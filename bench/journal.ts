/**
 * Journal benchmark: durable update rate (synchronous=FULL with group commit, against NORMAL and against
 * one transaction per update), replication lag on loopback, and snapshot / recovery time for 1M rows.
 * Prints each figure with its target and PASS/MISS; `run()` returns the figures for bench/run.ts.
 * Run alone: `npx tsx bench/journal.ts` (JOURNAL_BENCH_ROWS=200000 for a quicker, smaller run).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Journal } from '../firmware/journal/api.ts';
import { JOURNAL_FILE, openJournal } from '../firmware/journal/recovery.ts';
import { startJournal } from '../firmware/journal/service.ts';
import { writeSnapshot } from '../firmware/journal/snapshots.ts';
import type { Synchronous } from '../firmware/journal/store.ts';
import type { Change } from '../firmware/journal/types.ts';
import { LinuxClock } from '../hal/clock/linux.ts';

const KEY = Buffer.from('tandem-bench-cluster-key-0123456789', 'utf8');
const ROWS = Number(process.env.JOURNAL_BENCH_ROWS ?? 1_000_000);

type Figures = Record<string, number | string>;

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'tnd-journal-bench-'));
}

const quiet = (): void => {};

async function leader(dir: string, synchronous: Synchronous, extra = {}): Promise<Journal> {
  const j = await startJournal({
    dir,
    node: 'a',
    peer: { node: 'b' },
    clusterKey: KEY,
    clock: new LinuxClock(),
    synchronous,
    log: quiet,
    ...extra,
  });
  await j.promote(1);
  return j;
}

/** Updates per second when `concurrency` writers each keep one update in flight (group commit). */
async function groupRate(synchronous: Synchronous, total: number, concurrency: number): Promise<number> {
  const dir = scratch();
  const j = await leader(dir, synchronous);
  try {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          const i = next++;
          await j.health.set(`rs${i % 5000}`, i % 2 ? 'up' : 'down');
        }
      }),
    );
    return total / ((performance.now() - started) / 1000);
  } finally {
    await j.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Updates per second with one writer awaiting each update: one transaction (one fsync) per update. */
async function serialRate(synchronous: Synchronous, total: number): Promise<number> {
  return groupRate(synchronous, total, 1);
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

/** The follower side of the lag measurement, in its own process as on the second box. */
async function follower(dir: string): Promise<void> {
  const b = await startJournal({
    dir,
    node: 'b',
    peer: { node: 'a' },
    listen: { host: '127.0.0.1', port: 0 },
    clusterKey: KEY,
    clock: new LinuxClock(),
    log: quiet,
  });
  process.stdout.write(`${b.address()?.port}\n`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve));
  await b.close();
}

/**
 * Commit-to-acknowledged lag: from the moment an update is durable on the leader to the moment the
 * follower process's acknowledgement (sent once the update is durable there too) is back. An upper bound
 * of the lag. The follower is a second process on loopback.
 */
async function replicationLag(): Promise<{ p50: number; p99: number; max: number; samples: number }> {
  const dirA = scratch();
  const dirB = scratch();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--follower', dirB],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let a: Journal | undefined;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('exit', (code) => reject(new Error(`follower exited ${code}`)));
    });
    a = await startJournal({
      dir: dirA,
      node: 'a',
      peer: { node: 'b', host: '127.0.0.1', port },
      clusterKey: KEY,
      clock: new LinuxClock(),
      log: quiet,
    });
    await a.promote(1);
    const leader = a;
    while (leader.status().relation !== 'source') await new Promise((r) => setTimeout(r, 5));
    const lags: number[] = [];
    const waits: Promise<void>[] = [];
    // 5 updates every 2 ms (~2,500/s) for 4 s: a busy state stream, not a saturating one.
    const until = performance.now() + 4_000;
    while (performance.now() < until) {
      const batch = Array.from({ length: 5 }, (_, i) =>
        leader.sticky.set({ service: 'web', client: `c${i}`, server: 'rs1', ttlMs: 60_000 }),
      );
      const entries = await Promise.all(batch);
      const committed = performance.now();
      const last = entries[entries.length - 1];
      if (last) {
        waits.push(
          leader.replicated(last.seq).then((outcome) => {
            if (outcome === 'acked') for (const _ of entries) lags.push(performance.now() - committed);
          }),
        );
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(waits);
    lags.sort((x, y) => x - y);
    return {
      p50: percentile(lags, 50),
      p99: percentile(lags, 99),
      max: lags[lags.length - 1] ?? Number.NaN,
      samples: lags.length,
    };
  } finally {
    await a?.close();
    child.stdin.end();
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  }
}

/** Fills a journal with `rows` sticky bindings (each also a log entry), then times checkpoint and recovery. */
function snapshotAndRecovery(rows: number): Figures {
  const dir = scratch();
  try {
    const { store } = openJournal(dir, { wallTime: Date.now });
    store.append([{ kind: 'journal.epoch', value: { epoch: 1, leader: 'a' } }], 1, Date.now());
    const batch = 20_000;
    for (let at = 0; at < rows; at += batch) {
      const changes: Change[] = [];
      for (let i = at; i < Math.min(rows, at + batch); i++) {
        changes.push({
          kind: 'sticky.set',
          value: {
            service: 'web',
            client: `198.51.${(i >> 8) & 255}.${i & 255}#${i}`,
            server: `rs${i % 50}`,
            expiresAt: 4e12,
          },
        });
      }
      store.append(changes, 1, Date.now());
    }
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    // A checkpoint as the service does it: drop the log behind the retained 100k entries, then snapshot.
    let t = performance.now();
    store.truncate(store.position().head - 100_000 + 1);
    const truncateMs = performance.now() - t;
    t = performance.now();
    writeSnapshot(store, dir);
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    const snapshotMs = performance.now() - t;
    store.close();

    t = performance.now();
    const sound = openJournal(dir, { wallTime: Date.now });
    const recoverMs = performance.now() - t;
    const soundRows = sound.store.sticky.count(0);
    sound.store.close();

    const fd = openSync(join(dir, JOURNAL_FILE), 'r+');
    writeSync(fd, Buffer.alloc(100, 0xa5), 0, 100, 0);
    closeSync(fd);
    t = performance.now();
    const restored = openJournal(dir, { wallTime: Date.now });
    const restoreMs = performance.now() - t;
    const restoredRows = restored.store.sticky.count(0);
    const source = restored.outcome.source;
    restored.store.close();
    if (soundRows !== rows || restoredRows !== rows || source !== 'snapshot') {
      throw new Error(`recovery lost rows: ${soundRows}/${restoredRows} of ${rows}, source ${source}`);
    }
    return { truncateMs, snapshotMs, recoverMs, restoreMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function line(
  name: string,
  value: number,
  unit: string,
  target?: { op: '>=' | '<='; value: number },
): string {
  const shown = value >= 100 ? value.toFixed(0) : value.toFixed(2);
  if (target === undefined) return `  ${name.padEnd(44)} ${shown.padStart(10)} ${unit}`;
  const ok = target.op === '>=' ? value >= target.value : value <= target.value;
  return `  ${name.padEnd(44)} ${shown.padStart(10)} ${unit.padEnd(9)} target ${target.op} ${target.value}  ${ok ? 'PASS' : 'MISS'}`;
}

export async function run(): Promise<Figures> {
  const out: Figures = {};
  const print = (s: string): void => {
    console.log(s);
  };
  print('journal benchmark');
  const full = await groupRate('FULL', 100_000, 1_000);
  const normal = await groupRate('NORMAL', 100_000, 1_000);
  const fullSerial = await serialRate('FULL', 2_000);
  const normalSerial = await serialRate('NORMAL', 2_000);
  out.durableUpdatesPerSec = Math.round(full);
  out.normalUpdatesPerSec = Math.round(normal);
  out.fullSerialUpdatesPerSec = Math.round(fullSerial);
  out.normalSerialUpdatesPerSec = Math.round(normalSerial);
  print(line('durable updates/s (FULL, group commit)', full, 'updates/s', { op: '>=', value: 20_000 }));
  print(line('updates/s (NORMAL+WAL, group commit)', normal, 'updates/s'));
  print(line('updates/s (FULL, one update per commit)', fullSerial, 'updates/s'));
  print(line('updates/s (NORMAL+WAL, one update per commit)', normalSerial, 'updates/s'));
  print('  FULL fsyncs the WAL at every commit (survives power loss); NORMAL only at checkpoints (survives');
  print('  a crash of the process, may lose the last commits on power loss): FULL is the durable one.');

  const lag = await replicationLag();
  out.replicationLagP50Ms = lag.p50;
  out.replicationLagP99Ms = lag.p99;
  out.replicationLagMaxMs = lag.max;
  print(line('replication lag p50 (loopback, commit to ack)', lag.p50, 'ms'));
  print(line('replication lag p99 (loopback, commit to ack)', lag.p99, 'ms', { op: '<=', value: 10 }));
  print(line(`replication lag max (${lag.samples} samples)`, lag.max, 'ms'));

  const snap = snapshotAndRecovery(ROWS);
  const label = ROWS === 1_000_000 ? '1M' : `${ROWS}`;
  const twoSeconds = { op: '<=', value: 2_000 } as const;
  out.rows = ROWS;
  out.truncateMs = snap.truncateMs as number;
  out.snapshotMs = snap.snapshotMs as number;
  out.recoveryMs = snap.recoverMs as number;
  out.restoreFromSnapshotMs = snap.restoreMs as number;
  print(line(`log truncation (${label} rows, keep 100k)`, out.truncateMs, 'ms'));
  print(line(`snapshot, ${label} rows`, out.snapshotMs, 'ms', twoSeconds));
  print(line(`recovery at boot (integrity_check), ${label} rows`, out.recoveryMs, 'ms', twoSeconds));
  print(line(`recovery from snapshot, ${label} rows`, out.restoreFromSnapshotMs, 'ms', twoSeconds));
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--follower');
  if (at > 0) await follower(process.argv[at + 1] as string);
  else await run();
}
