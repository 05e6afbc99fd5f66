/**
 * Real-time scheduling for the heartbeat process: SCHED_FIFO through util-linux `chrt`, with
 * reset-on-fork so a program the process starts runs at normal priority. Every thread of the process is
 * changed, not only the event loop's: the loop waits for V8's parallel garbage-collection helpers, and
 * the serial port's reads run on libuv's thread pool (threads created later inherit the policy), so a
 * starved helper would stall the loop as surely as a starved loop. Failure is reported, never thrown:
 * the heartbeat works without it, only less tightly under load.
 */
import { execFile } from 'node:child_process';

export interface RealtimeResult {
  readonly ok: boolean;
  /** What happened, for the log: the policy set, or why not. */
  readonly detail: string;
}

export interface RealtimeOptions {
  /** 1..99; default 50. */
  priority?: number;
  /**
   * Programs the process starts run at normal priority (default true). The cluster host turns it off:
   * its ip and arping runs are the takeover's critical path and must not queue behind a loaded CPU.
   */
  resetOnFork?: boolean;
}

export function requestRealtime(pid: number, options: RealtimeOptions = {}): Promise<RealtimeResult> {
  const priority = options.priority ?? 50;
  const reset = options.resetOnFork ?? true;
  if (!Number.isInteger(pid) || pid < 1 || !Number.isInteger(priority) || priority < 1 || priority > 99) {
    return Promise.resolve({ ok: false, detail: `bad pid ${pid} or priority ${priority}` });
  }
  const argv = [
    ...(reset ? ['--reset-on-fork'] : []),
    '--all-tasks',
    '--fifo',
    '--pid',
    String(priority),
    String(pid),
  ];
  return new Promise((resolve) => {
    execFile('chrt', argv, { timeout: 5000 }, (err, _stdout, stderr) => {
      if (err) {
        resolve({ ok: false, detail: `chrt ${argv.join(' ')} failed: ${(stderr || err.message).trim()}` });
      } else
        resolve({ ok: true, detail: `SCHED_FIFO priority ${priority} (reset-on-fork) on thread ${pid}` });
    });
  });
}
