/**
 * A helper process spoken to in JSON lines: spawned (usually through `ip netns exec`), ready once it
 * prints `{ "ready": true }`, each request answered by a line with the same id. Owned: dispose() closes
 * its stdin, and kills it by PID if it has not exited within 5 s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}

export class LineChild {
  private readonly waiting = new Map<number, (reply: Reply) => void>();
  private nextId = 1;
  private readonly exited: Promise<void>;
  private disposed = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly what: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  static async start(
    argv: readonly string[],
    what: string,
    options: { cwd?: string } = {},
  ): Promise<LineChild> {
    const [cmd, ...args] = argv as [string, ...string[]];
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'], cwd: options.cwd });
    const me = new LineChild(child, what);
    const ready = new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`${what} exited early (${code})`)));
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const msg = JSON.parse(line) as Reply | { ready: true };
        if ('ready' in msg) resolve();
        else me.deliver(msg);
      });
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      await ready;
    } finally {
      clearTimeout(timer);
    }
    return me;
  }

  private deliver(reply: Reply): void {
    const w = this.waiting.get(reply.id);
    this.waiting.delete(reply.id);
    w?.(reply);
  }

  /** Sends a request; resolves with the reply, rejects when the reply says ok: false or the child exits. */
  async call<T extends Reply = Reply>(request: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, resolve);
      void this.exited.then(() => reject(new Error(`${this.what} exited`)));
    });
    this.child.stdin?.write(`${JSON.stringify({ id, ...request })}\n`);
    const r = await reply;
    if (!r.ok) throw new Error(`${this.what}: ${r.error}`);
    return r as T;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.child.stdin?.end();
    const timer = setTimeout(() => {
      if (this.child.pid !== undefined && this.child.exitCode === null)
        process.kill(this.child.pid, 'SIGKILL');
    }, 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
