/**
 * The cluster host process: it owns the journal (replicating to the peer over the heartbeat link), the
 * takeover reconciler and the control socket, and forks the heartbeat process (heartbeat.ts), which
 * reaches the journal and the takeover over the IPC channel. Everything that starts programs (ip,
 * arping) or writes SQLite runs here, never on the heartbeat's event loop.
 *
 * With `realtime`, the host runs at SCHED_FIFO 40 (the heartbeat at 50) and the programs it starts
 * inherit that, so a takeover under CPU load is not delayed behind ordinary processes.
 *
 * It serves the journal's access socket (firmware/journal/remote/) for the other services, and follows
 * this node's own appliance health score (the monitor's `@appliance` record) into the heartbeat process,
 * whose core makes an unhealthy ACTIVE hand over (see `followApplianceHealth`).
 *
 * If the heartbeat process dies, the host releases the floating addresses (nothing would defend them
 * any more and the peer takes over) and exits 1, for the supervisor to restart both. A SIGTERM or SIGINT
 * makes the heartbeat leave the cluster gracefully (the ACTIVE hands over), then everything closes and
 * the host exits 0.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Board } from '../../board/types.ts';
import { buildDrivers } from '../../board/wiring.ts';
import { type Journal, startJournal } from '../journal/index.ts';
import { JOURNAL_FILE } from '../journal/recovery.ts';
import { serveJournal as serveJournalSocket } from '../journal/remote/index.ts';
import type { WriteMethod } from '../journal/remote/protocol.ts';
import { APPLIANCE_KEY } from '../monitor/journal-sink.ts';
import { runtimePaths } from '../runtime/paths.ts';
import { startTakeover } from '../takeover/service.ts';
import type { TakeoverConfigInput } from '../takeover/types.ts';
import { startControl } from './control.ts';
import { HEALTH_EVENT, Rpc, serveJournal, serveTakeover } from './ipc.ts';
import { clusterJournal } from './journal-link.ts';
import type { ProcessConfig } from './process-config.ts';
import { requestRealtime } from './realtime.ts';
import { type ClusterLog, type ClusterStatus, defaultClusterLog } from './service.ts';
import type { Command, Role } from './types.ts';

export interface HostOptions {
  config: ProcessConfig;
  board: Board;
  /** The control socket; default cluster.sock next to the journal. */
  control?: string;
  /** How to start the heartbeat process: this entry point and its arguments plus `--heartbeat`. */
  heartbeat: { module: string; args: readonly string[] };
}

const text = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The journal's running configuration's `takeover` section, when it has addresses. */
function takeoverFromJournal(journal: Journal): TakeoverConfigInput | undefined {
  const section = journal.config.running()?.doc.takeover;
  if (typeof section !== 'object' || section === null || Array.isArray(section)) return undefined;
  if (!Array.isArray((section as { addresses?: unknown }).addresses)) return undefined;
  return section as unknown as TakeoverConfigInput;
}

/** The score of an `@appliance` record's data, or undefined when it carries none that is valid. */
function scoreOf(data: unknown): number | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const score = (data as { score?: unknown }).score;
  return typeof score === 'number' && Number.isInteger(score) && score >= 0 && score <= 100
    ? score
    : undefined;
}

/**
 * This node's own health score, from what its monitor reports as the `@appliance` record:
 *
 * - through the change feed: an `@appliance` row written in an epoch this node leads (on the leader,
 *   that is its own monitor's; a row written in the peer's epoch is the peer's score, replicated here,
 *   and must never count as ours);
 * - through the journal socket, every write of that record whatever its outcome: on a follower the
 *   journal refuses it (JOURNAL_NOT_LEADER) and the monitor offers it again every second, so a node
 *   that stepped down unhealthy still learns when it has recovered and can leave FAULT.
 *
 * Staleness: the monitor writes the record when the score changes, not periodically, so the row's age
 * says nothing about whether the monitor is alive. When no report comes, the score is unknown and the
 * core keeps its last value (100 at start): a monitor that died or hangs is the supervisor's business
 * (a critical service: restarted with back-off, then the node is stepped down and the watchdog starves).
 * A deleted row is also "unknown": no change.
 */
function followApplianceHealth(
  journal: Journal,
  onScore: (score: number) => void,
  log: ClusterLog,
): { fromWrite(method: WriteMethod, args: readonly unknown[]): void; close(): void } {
  let last: number | undefined;
  const take = (score: number | undefined, via: string): void => {
    if (score === undefined) {
      log('warn', `appliance health record without a valid score (${via}): ignored`);
      return;
    }
    if (score === last) return;
    log('info', `appliance health score ${score} (${via})`, { health: score });
    last = score;
    onScore(score);
  };
  const feed = journal.subscribe(
    (item) => {
      if (item.type !== 'entries') return;
      const facts = journal.cluster.facts();
      for (const e of item.entries) {
        if (e.kind !== 'health.set' || e.value.server !== APPLIANCE_KEY) continue;
        if (facts.leader !== journal.node || e.epoch !== facts.epoch) continue;
        take(scoreOf(e.value.data), 'journal');
      }
    },
    { kinds: ['health.set'] },
  );
  return {
    fromWrite: (method, args) => {
      if (method === 'health.set' && args[0] === APPLIANCE_KEY) take(scoreOf(args[3]), 'monitor');
    },
    close: () => feed.close(),
  };
}

/** Starts everything; resolves with the exit status once the process should end. */
export async function runHost(o: HostOptions): Promise<number> {
  const log: ClusterLog = defaultClusterLog('cluster');
  const { config, board } = o;
  const dir = dirname(board.storage.journalPath);
  mkdirSync(dir, { recursive: true });
  const drivers = buildDrivers(board);
  const stack: (() => Promise<void>)[] = [() => drivers.close()];
  const closeAll = async (): Promise<void> => {
    for (const close of stack.splice(0).reverse()) {
      await close().catch((err: unknown) => log('warn', `shutdown: ${text(err)}`));
    }
  };

  let child: ChildProcess | undefined;
  let rpc: Rpc | undefined;
  let stopping = false;
  /** Lets the heartbeat process go (it exits when the channel closes); SIGKILL by PID if it lingers. */
  const stopChild = async (): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    if (c.connected) c.disconnect();
    const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };

  try {
    if (config.realtime) {
      // Below the heartbeat (50), above everything else: the takeover's tools inherit it.
      const rt = await requestRealtime(process.pid, { priority: 40, resetOnFork: false });
      log(rt.ok ? 'info' : 'warn', `real-time scheduling: ${rt.detail}`, { realtime: rt.ok });
    }
    const journal = await startJournal({
      dir,
      node: config.node,
      peer: { node: config.peer, ...config.journal.peer },
      listen: config.journal.listen,
      clusterKey: config.key,
      clock: drivers.clock,
      log: defaultClusterLog('journal'),
    });
    stack.push(() => journal.close());
    // Sent once the heartbeat process listens (a message before that would be lost), then on change.
    let score: number | undefined;
    let heartbeatListens = false;
    const health = followApplianceHealth(
      journal,
      (s) => {
        score = s;
        if (heartbeatListens) rpc?.notify(HEALTH_EVENT, { score: s });
      },
      log,
    );
    stack.push(async () => health.close());
    const journalSocket = await serveJournalSocket(journal, {
      path: runtimePaths(board).journalSocket,
      file: join(dir, JOURNAL_FILE),
      clock: drivers.clock,
      log: defaultClusterLog('journal-socket'),
      onWrite: health.fromWrite,
    });
    stack.push(() => journalSocket.close());
    const takeover = startTakeover({
      net: drivers.net,
      clock: drivers.clock,
      config: takeoverFromJournal(journal) ?? config.takeover,
      log: defaultClusterLog('takeover'),
    });
    stack.push(() => takeover.close());
    stack.push(stopChild);

    child = fork(o.heartbeat.module, [...o.heartbeat.args, '--heartbeat'], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const proc = child;
    rpc = new Rpc(proc, { ...serveJournal(clusterJournal(journal, log)), ...serveTakeover(takeover) });
    const channel = rpc;
    const ready = await new Promise<{ pid: number }>((resolve, reject) => {
      const off = channel.onEvent((name, data) => {
        if (name === 'ready') {
          off();
          resolve(data as { pid: number });
        } else if (name === 'failed') {
          off();
          reject(new Error(`the heartbeat process did not start: ${String(data)}`));
        }
      });
      proc.once('exit', (code, signal) =>
        reject(new Error(`the heartbeat process exited (${code ?? signal})`)),
      );
    });
    const heartbeatPid = ready.pid;
    heartbeatListens = true;
    if (score !== undefined) channel.notify(HEALTH_EVENT, { score });

    const control = await startControl(o.control ?? join(dir, 'cluster.sock'), {
      status: async () => ({
        ...((await channel.call('status')) as ClusterStatus),
        takeover: takeover.status(),
        journal: journal.status(),
        heartbeatPid,
      }),
      command: async (command: Command) => (await channel.call('command', command)) as Role,
    });
    stack.push(() => control.close());
    process.stdout.write(
      `${JSON.stringify({ ready: true, pid: process.pid, heartbeatPid, control: control.path, journal: journalSocket.path })}\n`,
    );

    return await new Promise<number>((resolve) => {
      proc.once('exit', (code, signal) => {
        if (stopping) return;
        log('error', `the heartbeat process died (${code ?? signal}): releasing the floating addresses`);
        channel.close('the heartbeat process died');
        void takeover
          .release()
          .catch((err: unknown) => log('error', `release: ${text(err)}`))
          .then(closeAll)
          .then(() => resolve(1));
      });
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        log('info', `${signal}: leaving the cluster`);
        const exited = new Promise<void>((done) => {
          channel.onEvent((name) => {
            if (name === 'exited') done();
          });
          proc.once('exit', () => done());
        });
        channel.call('command', 'leave').catch((err: unknown) => log('warn', `leave: ${text(err)}`));
        void Promise.race([exited, drivers.clock.sleep(5000)]).then(async () => {
          channel.close();
          await closeAll();
          resolve(0);
        });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
  } catch (err) {
    rpc?.close();
    await closeAll();
    throw err;
  }
}
