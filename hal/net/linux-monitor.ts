/**
 * The `ip -o monitor link` child behind a Linux LinkWatch. `ip monitor` prints nothing when it starts, so
 * readiness is read from /proc: the child holds a NETLINK_ROUTE socket subscribed to RTMGRP_LINK. Only
 * then can the driver promise that every later change is reported. The child is owned: stop() kills it by
 * PID (SIGTERM, then SIGKILL) and waits for it to exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { Clock } from '../clock/types.ts';
import { abortError, HalError } from '../errors.ts';

const RTMGRP_LINK = 1;
const READY_POLL_MS = 10;

/** True when process `pid` holds a rtnetlink socket subscribed to link events. */
export async function subscribedToLinks(pid: number): Promise<boolean> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m?.[1] !== undefined) inodes.add(m[1]);
  }
  if (inodes.size === 0) return false;
  // /proc/<pid>/net is the child's namespace's view: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
  const table = await readFile(`/proc/${pid}/net/netlink`, 'utf8').catch(() => '');
  return table
    .split('\n')
    .slice(1)
    .some((row) => {
      const cols = row.trim().split(/\s+/);
      return (
        cols[1] === '0' &&
        inodes.has(cols[9] ?? '') &&
        (Number.parseInt(cols[3] ?? '0', 16) & RTMGRP_LINK) !== 0
      );
    });
}

export class MonitorProcess {
  private readonly child: ChildProcess;
  private readonly buffered: string[] = [];
  private partial = '';
  private stderr = '';
  private lineHandler: ((line: string) => void) | undefined;
  private exitHandler: ((why: string) => void) | undefined;
  private exitReason: string | undefined;
  private stopping = false;
  private readonly exited: Promise<void>;

  /** Starts `argv` (an `ip ... monitor link` command line). `device` names the host or netns in errors. */
  constructor(
    argv: readonly string[],
    private readonly device: string,
  ) {
    const [file = 'ip', ...args] = argv;
    this.child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => this.onData(d));
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-2000);
    });
    this.exited = new Promise<void>((resolve) => {
      this.child.once('error', (err) => {
        this.exitReason ??= err.message;
        resolve();
      });
      this.child.once('close', (code, sig) => {
        this.exitReason ??= `exited with ${sig ?? `code ${code}`}${this.stderr ? `: ${this.stderr.trim()}` : ''}`;
        resolve();
      });
    }).then(() => {
      if (!this.stopping) this.exitHandler?.(this.exitReason ?? 'exited');
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Resolves once the child is subscribed. Rejects with the child's failure if it exits first (HAL_IO,
   * or HAL_NOT_FOUND when its namespace is missing), HAL_TIMEOUT after `timeoutMs`, or the abort reason.
   */
  async ready(clock: Clock, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const started = clock.now();
    for (;;) {
      if (signal.aborted) throw abortError(signal, this.device);
      if (this.exitReason !== undefined) throw this.failure();
      const pid = this.child.pid;
      if (pid !== undefined && (await subscribedToLinks(pid))) return;
      if (clock.now() - started > timeoutMs) {
        throw new HalError(
          'HAL_TIMEOUT',
          `link monitor of ${this.device} did not subscribe in ${timeoutMs} ms`,
          {
            device: this.device,
          },
        );
      }
      await clock.sleep(READY_POLL_MS, { signal });
    }
  }

  /** Delivers each output line, starting with those that arrived before this call. */
  onLine(handler: (line: string) => void): void {
    this.lineHandler = handler;
    for (const line of this.buffered.splice(0)) handler(line);
  }

  /** Called once if the child exits without stop(). */
  onExit(handler: (why: string) => void): void {
    this.exitHandler = handler;
  }

  /** Kills the child by PID and waits for it to go. Calling it again waits for the same exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.exitReason === undefined && this.child.pid !== undefined) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 1000);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  private onData(chunk: string): void {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      if (this.lineHandler === undefined) this.buffered.push(line);
      else this.lineHandler(line);
    }
  }

  private failure(): HalError {
    const why = this.exitReason ?? 'exited';
    const missingNs = /Cannot open network namespace/.test(this.stderr);
    const missingTool = /ENOENT/.test(why);
    return new HalError(
      missingNs ? 'HAL_NOT_FOUND' : missingTool ? 'HAL_UNSUPPORTED' : 'HAL_IO',
      `link monitor of ${this.device}: ${missingTool ? 'the tool ip is not installed' : why}`,
      { device: this.device },
    );
  }
}
