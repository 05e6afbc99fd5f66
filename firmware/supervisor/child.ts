/**
 * One service process: spawned from an argv, watched for its `{"ready":true,...}` stdout line, its
 * stderr (and any other stdout) forwarded line by line to the supervisor's log, signalled only by PID.
 * It runs in its own process group, so a Ctrl-C at the supervisor's terminal reaches the supervisor
 * alone, which then stops the services in order.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildHooks {
  /** The first `{"ready":true,...}` line, parsed. */
  onReady(payload: Readonly<Record<string, unknown>>): void;
  /** Called exactly once; a process that could not be spawned "exits" with status 127. */
  onExit(code: number | null, signal: string | null): void;
  /** A log line of the service: stderr, or stdout that is not the ready line. */
  onLine(line: string, stream: 'stdout' | 'stderr'): void;
}

export class ServiceProcess {
  private exited = false;
  /** PIDs the service reported in its ready line as its own children (the cluster's heartbeatPid). */
  private extra: number[] = [];

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {}

  /** Spawns argv (argv[0] is the program). Never throws: a spawn failure arrives as onExit(127). */
  static spawn(
    name: string,
    argv: readonly string[],
    hooks: ChildHooks,
    options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
  ): ServiceProcess {
    const [cmd, ...args] = argv as [string, ...string[]];
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      ...(options.env ? { env: options.env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    const proc = new ServiceProcess(name, child);
    let ready = false;
    let closedStreams = 0;
    let exit: [number | null, string | null] | undefined;
    const finish = (): void => {
      // Report the exit after both pipes drained, so its last log lines come first.
      if (exit === undefined || closedStreams < 2 || proc.exited) return;
      proc.exited = true;
      hooks.onExit(exit[0], exit[1]);
    };
    const lines = (stream: 'stdout' | 'stderr', input: NodeJS.ReadableStream | null): void => {
      if (input === null) {
        closedStreams++;
        return;
      }
      const rl = createInterface({ input });
      rl.on('line', (line) => {
        if (stream === 'stdout' && !ready && line.startsWith('{')) {
          const payload = parseReady(line);
          if (payload !== undefined) {
            ready = true;
            const hb = payload.heartbeatPid;
            if (typeof hb === 'number' && Number.isInteger(hb) && hb > 0) proc.extra.push(hb);
            hooks.onReady(payload);
            return;
          }
        }
        hooks.onLine(line, stream);
      });
      rl.once('close', () => {
        closedStreams++;
        finish();
      });
    };
    lines('stdout', child.stdout);
    lines('stderr', child.stderr);
    child.once('exit', (code, signal) => {
      exit = [code, signal];
      finish();
      // A grandchild holding the pipes open must not hide the exit for long.
      setTimeout(() => {
        closedStreams = 2;
        finish();
      }, 1000).unref();
    });
    child.once('error', (err) => {
      if (child.pid !== undefined) return;
      hooks.onLine(`cannot start ${argv.join(' ')}: ${err.message}`, 'stderr');
      exit = [127, null];
      closedStreams = 2;
      finish();
    });
    return proc;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.exited && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** PIDs that die with this service on a SIGKILL (its own, then the ones its ready line named). */
  get pids(): number[] {
    return [...(this.child.pid === undefined ? [] : [this.child.pid]), ...this.extra];
  }

  /** Sends `signal` to the process by PID; SIGKILL also goes to the children it reported. */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    const targets = signal === 'SIGKILL' ? this.pids : this.pids.slice(0, 1);
    for (const pid of targets) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }
}

function parseReady(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === 'object' && value !== null && (value as { ready?: unknown }).ready === true) {
      return value as Record<string, unknown>;
    }
  } catch {
    // an ordinary line
  }
  return undefined;
}
