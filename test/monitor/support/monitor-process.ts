/**
 * The monitor process (firmware/monitor/main.ts) started in a namespace with a configuration file, its
 * health records (stdout) and log (stderr) collected with their arrival times. Owned: stop() sends
 * SIGTERM and kills it by PID if it has not exited within 5 s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { SinkEntry } from '../../../firmware/monitor/sinks.ts';
import { inNamespace, REPO } from './testbed-helpers.ts';

export interface Timed<T> {
  at: number;
  entry: T;
}

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export class MonitorProcess {
  readonly records: Timed<SinkEntry>[] = [];
  readonly logs: LogLine[] = [];
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      this.records.push({ at: performance.now(), entry: JSON.parse(line) as SinkEntry });
      this.wake();
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.logs.push({ level: 'raw', msg: line });
      }
      this.wake();
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /**
   * Writes `config` to `<dir>/monitor.json` and starts the monitor on it inside `ns`. `nodeArgs` go to
   * node before the program (e.g. `--cpu-prof`).
   */
  static start(
    ns: string,
    dir: string,
    config: unknown,
    seed = 1,
    nodeArgs: readonly string[] = [],
  ): MonitorProcess {
    const path = join(dir, 'monitor.json');
    writeFileSync(path, JSON.stringify(config));
    const argv = inNamespace(
      ns,
      join(REPO, 'firmware', 'monitor', 'main.ts'),
      ['--config', path, '--seed', String(seed)],
      nodeArgs,
    );
    const [cmd, ...args] = argv as [string, ...string[]];
    return new MonitorProcess(spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  /** Resolves with the first record (from index `from`) that satisfies `pred`; rejects after `timeoutMs`. */
  async waitFor(pred: (e: SinkEntry) => boolean, timeoutMs: number, from = 0): Promise<Timed<SinkEntry>> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.records.slice(from).find((r) => pred(r.entry));
      if (found) return found;
      const left = deadline - performance.now();
      if (left <= 0 || this.child.exitCode !== null) {
        const tail = this.logs
          .slice(-5)
          .map((l) => `${l.level} ${l.msg}`)
          .join(' | ');
        throw new Error(`no matching monitor record within ${timeoutMs} ms (log: ${tail})`);
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
  }

  /** Sends SIGHUP (reload the configuration file). */
  reload(): void {
    this.child.kill('SIGHUP');
  }

  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.child.exitCode === null && this.child.pid !== undefined)
        process.kill(this.child.pid, 'SIGKILL');
    }, 5_000);
    const outcome = await this.exited;
    clearTimeout(timer);
    return outcome;
  }
}

export const isServer =
  (service: string, server: string, state?: 'up' | 'down') =>
  (e: SinkEntry): boolean =>
    e.type === 'server' &&
    e.record.service === service &&
    e.record.server === server &&
    (state === undefined || e.record.state === state);
