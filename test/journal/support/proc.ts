import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A journal node running as its own process (fixtures/node.ts), driven by JSON lines. Owned: killed by PID. */
const ROOT = join(import.meta.dirname, '..', '..', '..');
const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'node.ts');

export interface NodeProcessOptions {
  dir: string;
  node: 'a' | 'b';
  host?: string;
  peerHost?: string;
  listenPort?: number;
  peerPort?: number;
  keyHex: string;
  checkpointEveryEntries?: number;
}

type Line = Record<string, unknown>;

/**
 * Bundles fixtures/node.ts into one plain JS file (esbuild, which tsx already brings) under
 * node_modules/.cache so that its better-sqlite3 import resolves. Undefined when esbuild is unavailable:
 * callers then start the fixture through tsx. Remove the file with `rmSync` when done.
 */
export async function bundleFixture(): Promise<string | undefined> {
  const outfile = join(ROOT, 'node_modules', '.cache', 'tandem-journal', `node-${process.pid}.mjs`);
  try {
    const esbuild = await import('esbuild');
    esbuild.buildSync({
      entryPoints: [FIXTURE],
      bundle: true,
      platform: 'node',
      format: 'esm',
      external: ['better-sqlite3'],
      outfile,
      logLevel: 'silent',
    });
    return outfile;
  } catch {
    return undefined;
  }
}

export class NodeProcess {
  readonly stderr: string[] = [];
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(line: Line) => void>();
  private nextId = 1;
  readonly exited: Promise<number | null>;
  port = 0;
  recovery: { source?: string } = {};

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    createInterface({ input: child.stdout }).on('line', (text) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        return;
      }
      const id = typeof line.id === 'number' ? line.id : undefined;
      const p = id === undefined ? undefined : this.pending.get(id);
      if (p && id !== undefined) {
        this.pending.delete(id);
        if ('error' in line) p.reject(new Error(`${JSON.stringify(line.error)}`));
        else p.resolve(line.ok);
      }
      for (const l of this.listeners) l(line);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.stderr.push(d);
      if (this.stderr.length > 200) this.stderr.shift();
    });
    child.stdin.on('error', () => {});
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /**
   * Starts the process (inside network namespace `netns` when given) and waits for its ready line.
   * `bundle` (from bundleFixture) starts a prebuilt plain-JS copy, four times faster than through tsx.
   */
  static async start(
    options: NodeProcessOptions,
    netns?: string,
    timeoutMs = 15_000,
    bundle?: string,
  ): Promise<NodeProcess> {
    const script = bundle === undefined ? ['--import', 'tsx', FIXTURE] : [bundle];
    const argv = [process.execPath, ...script, JSON.stringify(options)];
    const full = netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
    const child = spawn(full[0] as string, full.slice(1), { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const proc = new NodeProcess(child);
    const ready = await proc.waitFor((l) => l.ready === true, timeoutMs, 'ready');
    proc.port = Number(ready.port);
    proc.recovery = ready.recovery as { source?: string };
    return proc;
  }

  onLine(listener: (line: Line) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first line matching `match`; rejects on timeout or exit. */
  waitFor(match: (line: Line) => boolean, timeoutMs: number, what: string): Promise<Line> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(
          new Error(
            `node ${this.pid}: no ${what} within ${timeoutMs} ms; stderr: ${this.stderr.join('').slice(-2000)}`,
          ),
        );
      }, timeoutMs);
      const off = this.onLine((line) => {
        if (!match(line)) return;
        clearTimeout(timer);
        off();
        resolve(line);
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        off();
        reject(
          new Error(
            `node ${this.pid} exited (${code}) before ${what}; stderr: ${this.stderr.join('').slice(-2000)}`,
          ),
        );
      });
    });
  }

  call(op: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`node ${this.pid}: ${op} timed out`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** Asks the node to close cleanly; kills it if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.kill(), timeoutMs);
    this.call('close', {}, timeoutMs).catch(() => {});
    await this.exited;
    clearTimeout(timer);
  }
}
