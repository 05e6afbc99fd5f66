/**
 * The long-lived gratuitous-ARP sender of one network namespace (garp-helper-source.ts, in python3): a
 * frame costs a line on a pipe instead of a process start (arping), which under CPU load takes tens of
 * milliseconds. Requests may overlap; each answer carries its request's id.
 *
 * The child is owned: close() kills it by PID and waits for it to be gone; it also exits by itself when
 * its stdin closes (this process died). A child that dies is started again by the next call, and a frame
 * it had not answered is asked once more of the new one. An abort drops the caller's wait only (a frame
 * takes well under a millisecond). No answer within the time limit kills the child (HAL_TIMEOUT).
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { abortError, HalError } from '../errors.ts';
import { GARP_HELPER_PY } from './garp-helper-source.ts';
import type { AnnounceForm } from './types.ts';

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

export interface FrameRequest {
  link: string;
  ip: string;
  form: AnnounceForm;
  /** Also look the address up on the link (and send only when it is there). */
  check: boolean;
}

/** What the helper found; `sent` only when the link exists, does ARP, has carrier (and the address). */
export interface FrameAnswer {
  exists: boolean;
  doesArp: boolean;
  adminUp: boolean;
  carrier: boolean;
  /** null when not asked (`check` false). */
  hasAddress: boolean | null;
  sent: boolean;
}

interface Pending {
  resolve: (a: FrameAnswer) => void;
  reject: (err: Error) => void;
}

/** The helper cannot run here (no python3, no CAP_NET_RAW): the caller falls back to arping. */
export class HelperUnavailable extends Error {}

/** The child went away before it answered. */
class HelperDied extends Error {}

export interface GarpHelperOptions {
  netns: string | undefined;
  /** Names the host or namespace in errors. */
  where: string;
  /** The interpreter. Default 'python3'. */
  python?: string;
  startTimeoutMs?: number;
  answerTimeoutMs?: number;
}

export class GarpHelper {
  private child: Child | undefined;
  private ready: Promise<Child> | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly o: GarpHelperOptions) {}

  /** The running helper's PID, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Starts the helper if none runs. Rejects with HelperUnavailable when it cannot run here, HAL_NOT_FOUND
   * for a missing namespace, HAL_TIMEOUT or HAL_IO otherwise.
   */
  start(): Promise<void> {
    return this.spawnChild().then(() => undefined);
  }

  /** Sends one frame and resolves with what the helper saw, once the frame was handed to the kernel. */
  async frame(req: FrameRequest, signal: AbortSignal): Promise<FrameAnswer> {
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw abortError(signal, req.link);
      const child = await this.spawnChild();
      try {
        return await this.ask(child, req, signal);
      } catch (err) {
        if (!(err instanceof HelperDied)) throw err;
        if (attempt > 0 || this.closed) {
          throw new HalError('HAL_IO', `announce on ${req.link}: ${err.message}`, { device: req.link });
        }
      }
    }
  }

  /** Kills the helper (if one runs) and resolves once it is gone; later calls refuse. */
  async close(): Promise<void> {
    this.closed = true;
    this.kill(new HelperDied('the gratuitous-ARP helper was closed'));
    await this.exited;
  }

  private ask(child: Child, req: FrameRequest, signal: AbortSignal): Promise<FrameAnswer> {
    const id = this.nextId++;
    return new Promise<FrameAnswer>((resolve, reject) => {
      const timeoutMs = this.o.answerTimeoutMs ?? 5000;
      const timer = setTimeout(() => {
        this.kill(
          new HalError('HAL_TIMEOUT', `the gratuitous-ARP helper did not answer within ${timeoutMs} ms`, {
            device: req.link,
          }),
        );
      }, timeoutMs);
      const onAbort = (): void => {
        done();
        reject(abortError(signal, req.link));
      };
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.pending.delete(id);
      };
      this.pending.set(id, {
        resolve: (a) => {
          done();
          resolve(a);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      signal.addEventListener('abort', onAbort, { once: true });
      child.stdin.write(`${JSON.stringify({ id, ...req })}\n`);
    });
  }

  private kill(reason: Error): void {
    const child = this.child;
    this.child = undefined;
    this.ready = undefined;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const p of [...this.pending.values()]) p.reject(reason);
  }

  private spawnChild(): Promise<Child> {
    if (this.closed) {
      return Promise.reject(new HelperDied('the gratuitous-ARP helper was closed'));
    }
    this.ready ??= new Promise<Child>((resolve, reject) => {
      const argv = [this.o.python ?? 'python3', '-I', '-S', '-c', GARP_HELPER_PY];
      const { netns, where } = this.o;
      const [file, ...args] = netns === undefined ? argv : ['ip', 'netns', 'exec', netns, ...argv];
      const child = spawn(file as string, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      this.child = child;
      this.exited = new Promise<void>((gone) => child.once('close', () => gone()));
      let started = false;
      let stderr = '';
      let buffer = '';
      const timeoutMs = this.o.startTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        fail(
          new HalError(
            'HAL_TIMEOUT',
            `the gratuitous-ARP helper of ${where} did not start in ${timeoutMs} ms`,
            {
              device: where,
            },
          ),
        );
      }, timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        if (this.child === child) this.kill(err instanceof HalError ? err : new HelperDied(err.message));
        if (!started) reject(err);
      };
      child.stdin.on('error', () => undefined);
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr = (stderr + d).slice(-2000);
      });
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        buffer += d;
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (!started) {
            started = true;
            clearTimeout(timer);
            resolve(child);
            continue;
          }
          this.answer(line, child);
        }
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        fail(
          err.code === 'ENOENT'
            ? new HelperUnavailable(`${file} is not installed`)
            : new HalError('HAL_IO', `cannot start the gratuitous-ARP helper of ${where}: ${err.message}`, {
                device: where,
                cause: err,
              }),
        );
      });
      child.on('close', (code, sig) => {
        const why = stderr.trim().split('\n').slice(-2).join('; ');
        if (started) {
          fail(
            new HelperDied(
              `the gratuitous-ARP helper ended (${sig ?? `exit ${code}`})${why ? `: ${why}` : ''}`,
            ),
          );
        } else if (code === 4 || /exec of "[^"]+" failed/.test(stderr)) {
          fail(new HelperUnavailable(why || `${argv[0]} is not installed`));
        } else if (/Cannot open network namespace/.test(stderr) && netns !== undefined) {
          fail(
            new HalError('HAL_NOT_FOUND', `announce on ${where}: no network namespace ${netns}`, {
              device: netns,
            }),
          );
        } else {
          fail(
            new HalError(
              'HAL_IO',
              `the gratuitous-ARP helper of ${where} did not start (${sig ?? `exit ${code}`}): ${why}`,
              {
                device: where,
              },
            ),
          );
        }
      });
    });
    return this.ready;
  }

  private answer(line: string, child: Child): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      if (this.child === child) this.kill(new HelperDied('the gratuitous-ARP helper answered garbage'));
      return;
    }
    const p = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
    if (p === undefined) return;
    if (typeof msg.error === 'string') {
      p.reject(new HalError('HAL_IO', `gratuitous ARP: ${msg.error}`, { device: this.o.where }));
      return;
    }
    const flag = (k: string): boolean => msg[k] === true;
    p.resolve({
      exists: flag('exists'),
      doesArp: flag('doesArp'),
      adminUp: flag('adminUp'),
      carrier: flag('carrier'),
      hasAddress: msg.hasAddress === true ? true : msg.hasAddress === false ? false : null,
      sent: flag('sent'),
    });
  }
}
