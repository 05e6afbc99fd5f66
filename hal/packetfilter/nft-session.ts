/**
 * A long-lived libnftables context in a child process (nft-session.py, through python3's ctypes), so a
 * batch costs no process start: measured on nft 1.0.6 under load, `nft -j -f` per batch takes 10-30 ms
 * for one element, the session ~1 ms. `nft -i` was tried and rejected: its libedit prompt reads stdin one
 * byte per read() (1 s for a 600 KB batch), keeps every line in its history, and a `list` used as an
 * end-of-answer marker makes it fetch every element of every set.
 *
 * One request at a time, in order. The child is owned: an abort or a timeout kills it by PID (the kernel
 * transaction is then whole or absent) and the next call starts a new one; close() kills it.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { abortError, HalError } from '../errors.ts';
import type { NftResult } from './nft-run.ts';

const SCRIPT = new URL('./nft-session.py', import.meta.url).pathname;
const START_TIMEOUT_MS = 10_000;

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

interface Pending {
  resolve: (r: NftResult) => void;
  reject: (err: Error) => void;
}

export class NftSession {
  private child: Child | undefined;
  private ready: Promise<Child> | undefined;
  private buffer = Buffer.alloc(0);
  private stderr = '';
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly netns: string | undefined,
    private readonly timeoutMs: number,
    readonly where: string,
  ) {}

  /** Runs one JSON document; resolves with nft's exit code and text (the error text when code != 0). */
  run(input: string, signal: AbortSignal | undefined): Promise<NftResult> {
    const turn = this.queue.then(() => this.runNow(input, signal));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Kills the child; a call in flight rejects with `reason`. */
  stop(reason: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    const child = this.child;
    this.child = undefined;
    this.ready = undefined;
    this.buffer = Buffer.alloc(0);
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    pending?.reject(reason);
  }

  private async runNow(input: string, signal: AbortSignal | undefined): Promise<NftResult> {
    if (signal?.aborted) throw abortError(signal, this.where);
    const child = await this.start();
    if (signal?.aborted) throw abortError(signal, this.where);
    const body = Buffer.from(input, 'utf8');
    return new Promise<NftResult>((resolve, reject) => {
      const onAbort = (): void => this.stop(abortError(signal as AbortSignal, this.where));
      const timer = setTimeout(
        () =>
          this.stop(
            new HalError('HAL_TIMEOUT', `nft did not finish within ${this.timeoutMs} ms`, {
              device: this.where,
            }),
          ),
        this.timeoutMs,
      );
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      this.pending = {
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      child.stdin.write(`${body.length}\n`);
      child.stdin.write(body);
    });
  }

  private start(): Promise<Child> {
    this.ready ??= new Promise<Child>((resolve, reject) => {
      const argv = ['python3', SCRIPT];
      const [file, ...args] = this.netns === undefined ? argv : ['ip', 'netns', 'exec', this.netns, ...argv];
      const child = spawn(file as string, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      this.child = child;
      this.stderr = '';
      let started = false;
      const timer = setTimeout(() => {
        this.stop(new HalError('HAL_TIMEOUT', 'the nftables session did not start', { device: this.where }));
      }, START_TIMEOUT_MS);
      const fail = (err: HalError): void => {
        clearTimeout(timer);
        if (this.child === child) this.stop(err);
        if (!started) reject(err);
      };
      child.stdin.on('error', () => undefined);
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        this.stderr = (this.stderr + d).slice(-4000);
      });
      child.stdout.on('data', (d: Buffer) => {
        if (this.child !== child) return;
        this.buffer = Buffer.concat([this.buffer, d]);
        if (!started) {
          const nl = this.buffer.indexOf(10);
          if (nl < 0) return;
          started = true;
          clearTimeout(timer);
          this.buffer = this.buffer.subarray(nl + 1);
          resolve(child);
        }
        this.parse();
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        const code = err.code === 'ENOENT' ? 'HAL_UNSUPPORTED' : 'HAL_IO';
        fail(
          new HalError(code, `cannot start the nftables session: ${err.message}`, {
            device: this.where,
            cause: err,
          }),
        );
      });
      child.on('close', (code, sig) => {
        const why = this.stderr.trim().split('\n').join('; ');
        const missing = code === 3 || /exec of "python3" failed/.test(this.stderr);
        const netns = /Cannot open network namespace/.test(this.stderr);
        const err = new HalError(
          missing ? 'HAL_UNSUPPORTED' : netns ? 'HAL_NOT_FOUND' : 'HAL_IO',
          `the nftables session ended (${sig ?? `exit ${code}`})${why ? `: ${why}` : ''}`,
          { device: this.where },
        );
        if (this.child === child) fail(err);
        else if (!started) reject(err);
      });
    });
    return this.ready;
  }

  /** Takes complete answers off the buffer: "<rc> <bytes>\n<text>". */
  private parse(): void {
    for (;;) {
      const nl = this.buffer.indexOf(10);
      if (nl < 0) return;
      const m = /^(-?\d+) (\d+)$/.exec(this.buffer.subarray(0, nl).toString('latin1'));
      if (m === null) {
        this.stop(new HalError('HAL_IO', 'the nftables session answered garbage', { device: this.where }));
        return;
      }
      const size = Number(m[2]);
      if (this.buffer.length < nl + 1 + size) return;
      const text = this.buffer.subarray(nl + 1, nl + 1 + size).toString('utf8');
      this.buffer = this.buffer.subarray(nl + 1 + size);
      const pending = this.pending;
      this.pending = undefined;
      const code = Number(m[1]) === 0 ? 0 : 1;
      pending?.resolve(code === 0 ? { code, stdout: text, stderr: '' } : { code, stdout: '', stderr: text });
    }
  }
}
