/**
 * A Pinger whose LinuxPinger runs in a child process inside a network namespace (pinger-child.ts), so the
 * shared contract suite can drive the real driver from the host namespace. The child is owned: dispose()
 * ends it, and kills it by PID if it does not exit in time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { HalError, type HalErrorCode } from '../../../hal/errors.ts';
import type { Pinger, PingerStats, PingOptions, PingReply } from '../../../hal/icmp/types.ts';
import type { Request, Response } from './pinger-child.ts';

type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

const script = join(import.meta.dirname, 'pinger-child.ts');

export class ChildPinger implements Pinger {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (res: Response) => void>();
  private nextId = 1;
  private lastStats: PingerStats | undefined;
  private exited: Promise<void>;
  private disposed = false;

  private constructor(
    child: ChildProcess,
    private readonly ns: string,
  ) {
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /**
   * Starts the child in namespace `ns` and waits until its pinger is ready. `withoutNetRaw` drops
   * CAP_NET_RAW from the child (setpriv), as for an unprivileged process.
   */
  static async start(ns: string, options: { withoutNetRaw?: boolean } = {}): Promise<ChildPinger> {
    const drop = options.withoutNetRaw ? ['setpriv', '--bounding-set=-net_raw'] : [];
    const child = spawn('ip', ['netns', 'exec', ns, ...drop, process.execPath, '--import', 'tsx', script], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const proxy = new ChildPinger(child, ns);
    const ready = new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      child.once('exit', (code) => reject(new Error(`pinger child in ${ns} exited early (${code})`)));
      lines.on('line', (line) => {
        const msg = JSON.parse(line) as Response | { ready: true };
        if ('ready' in msg) resolve();
        else proxy.deliver(msg);
      });
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      await ready;
    } finally {
      clearTimeout(timer);
    }
    return proxy;
  }

  private deliver(res: Response): void {
    this.lastStats = res.stats;
    const waiter = this.waiting.get(res.id);
    this.waiting.delete(res.id);
    waiter?.(res);
  }

  private call(body: RequestBody): { id: number; response: Promise<Response> } {
    const id = this.nextId++;
    const response = new Promise<Response>((resolve, reject) => {
      this.waiting.set(id, resolve);
      this.exited.then(() => reject(new Error(`pinger child in ${this.ns} exited`)));
    });
    this.child.stdin?.write(`${JSON.stringify({ id, ...body })}\n`);
    return { id, response };
  }

  private static outcome<T>(res: Response): T {
    if (res.ok) return res.value as T;
    throw new HalError(res.error.code as HalErrorCode, res.error.message);
  }

  async ping(address: string, options: PingOptions): Promise<PingReply> {
    const signal = options?.signal;
    const { id, response } = this.call({
      op: 'ping',
      address,
      timeoutMs: options?.timeoutMs,
      ...(options?.payloadBytes === undefined ? {} : { payloadBytes: options.payloadBytes }),
      ...(signal?.aborted ? { aborted: true } : {}),
    });
    const onAbort = (): void => {
      void this.call({ op: 'abort', ping: id });
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return ChildPinger.outcome<PingReply>(await response);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The child's counters as of its last answer. */
  stats(): PingerStats {
    if (this.lastStats === undefined) throw new Error('no stats yet: call fetchStats() first');
    return this.lastStats;
  }

  async fetchStats(): Promise<PingerStats> {
    await this.call({ op: 'stats' }).response;
    return this.stats();
  }

  /** Has the child send raw ICMP bytes (hex) to `address` from its namespace. */
  async inject(address: string, hex: string): Promise<void> {
    ChildPinger.outcome(await this.call({ op: 'inject', address, hex }).response);
  }

  /** Closes the child's pinger; the child stays up (see dispose). */
  async close(): Promise<void> {
    ChildPinger.outcome(await this.call({ op: 'close' }).response);
  }

  /** Closes the child's pinger and gives it a fresh one (new identifier, zeroed counters). */
  async renew(): Promise<void> {
    ChildPinger.outcome(await this.call({ op: 'renew' }).response);
  }

  /** Ends the child: its stdin closes, its pinger closes, it exits, or it is killed after 5 s. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.child.stdin?.end();
    const timer = setTimeout(() => {
      if (this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
    }, 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
