/**
 * Runs an external program (a script check, an alert script) as an owned child in its own process group,
 * with keepalived check_misc's escalation through named states:
 *
 *   running ──(timeout or abort)──▶ terminating: SIGTERM to the whole group
 *   terminating ──(killGraceMs)──▶ killing: SIGKILL to the whole group
 *   any ──(the program exits)──▶ exited
 *
 * Whatever the program left in its group when it exited is killed too, so nothing outlives the call.
 */
import { spawn } from 'node:child_process';
import type { Clock, Timer } from '../../hal/clock/types.ts';

export type ProgramState = 'running' | 'terminating' | 'killing' | 'exited';

export interface ProgramOptions {
  env: Record<string, string>;
  clock: Clock;
  /** Start the escalation this long after the start (optional: a caller may rely on `signal` alone). */
  timeoutMs?: number;
  /** From SIGTERM to SIGKILL. */
  killGraceMs: number;
  signal?: AbortSignal;
  /** Told of every state the program enters, in order. */
  onState?: (state: ProgramState) => void;
}

export interface ProgramOutcome {
  /** Exit code, or null when a signal ended the program. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the program was stopped by the timeout or the abort signal. */
  stopped: boolean;
  /** The states it went through, from 'running' to 'exited'. */
  states: ProgramState[];
  /** The last bytes it wrote to stdout and stderr (at most 2 KiB each). */
  stdout: string;
  stderr: string;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  spawnError?: Error;
}

const TAIL = 2048;

function keepTail(tail: { text: string }, chunk: Buffer): void {
  tail.text = (tail.text + chunk.toString('utf8')).slice(-TAIL);
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is gone already
  }
}

export function runProgram(argv: readonly string[], options: ProgramOptions): Promise<ProgramOutcome> {
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError('runProgram needs a program to run');
  const states: ProgramState[] = [];
  const enter = (state: ProgramState): void => {
    states.push(state);
    options.onState?.(state);
  };
  const out = { text: '' };
  const err = { text: '' };
  return new Promise<ProgramOutcome>((resolve) => {
    const child = spawn(file, args, { env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let timeout: Timer | undefined;
    let grace: Timer | undefined;
    let drain: Timer | undefined;
    let stopped = false;
    let done = false;

    const escalate = (): void => {
      if (done || stopped || child.pid === undefined) return;
      stopped = true;
      enter('terminating');
      signalGroup(child.pid, 'SIGTERM');
      grace = options.clock.setTimer(options.killGraceMs, () => {
        if (done || child.pid === undefined) return;
        enter('killing');
        signalGroup(child.pid, 'SIGKILL');
      });
    };
    const finish = (outcome: Omit<ProgramOutcome, 'states' | 'stdout' | 'stderr' | 'stopped'>): void => {
      if (done) return;
      done = true;
      timeout?.cancel();
      grace?.cancel();
      drain?.cancel();
      options.signal?.removeEventListener('abort', escalate);
      child.stdout?.destroy();
      child.stderr?.destroy();
      enter('exited');
      resolve({ ...outcome, stopped, states, stdout: out.text, stderr: err.text });
    };

    child.stdout?.on('data', (c: Buffer) => keepTail(out, c));
    child.stderr?.on('data', (c: Buffer) => keepTail(err, c));
    child.once('error', (e) => finish({ code: null, signal: null, spawnError: e }));
    child.once('exit', (code, sig) => {
      // Leftovers in the group die with it; then wait for the pipes to drain ('close'), but not forever.
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
      child.once('close', () => finish({ code, signal: sig }));
      drain = options.clock.setTimer(500, () => finish({ code, signal: sig }));
    });
    if (child.pid === undefined) return; // 'error' follows
    enter('running');
    if (options.timeoutMs !== undefined) timeout = options.clock.setTimer(options.timeoutMs, escalate);
    if (options.signal?.aborted) escalate();
    else options.signal?.addEventListener('abort', escalate, { once: true });
  });
}

/** One line saying how a program ended. */
export function describeOutcome(outcome: ProgramOutcome): string {
  if (outcome.spawnError) return `could not start: ${outcome.spawnError.message}`;
  const how = outcome.signal !== null ? `killed by ${outcome.signal}` : `exit code ${outcome.code}`;
  const via = outcome.stopped
    ? ` after ${outcome.states.filter((s) => s === 'terminating' || s === 'killing').join(' → ')}`
    : '';
  const said = (outcome.stderr.trim() || outcome.stdout.trim()).split('\n').slice(-1)[0] ?? '';
  return `${how}${via}${said ? `: ${said.slice(0, 200)}` : ''}`;
}
