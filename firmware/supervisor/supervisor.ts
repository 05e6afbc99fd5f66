/**
 * The supervisor's shell around the pure core (policy.ts): it spawns and signals the service processes
 * (child.ts), arms one timer for the core's next deadline, probes the cluster, carries out escalations and
 * feeds the watchdog (watchdog.ts) while the core's verdict allows.
 */
import type { Clock, Timer } from '../../hal/clock/types.ts';
import { ServiceProcess } from './child.ts';
import { SupervisorError } from './errors.ts';
import { moveStateAside } from './factory-reset.ts';
import { initialState, nextDue, publicPhase, step, watchdogVerdict } from './policy.ts';
import type {
  Escalation,
  Policy,
  ServiceSpec,
  SupervisorAction,
  SupervisorEvent,
  SupervisorState,
} from './types.ts';
import { DEFAULT_POLICY } from './types.ts';
import type { WatchdogFeeder, WatchdogStatus } from './watchdog.ts';

export type LogLevel = 'info' | 'warn' | 'error';
export type SupervisorLog = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

export interface RunnableService extends ServiceSpec {
  /** The full command line. */
  readonly argv: readonly string[];
  /** Asked every feed interval while it runs; false means it does not answer. */
  readonly probe?: () => Promise<boolean>;
}

export interface SupervisorOptions {
  readonly services: readonly RunnableService[];
  readonly policy?: Partial<Policy>;
  readonly clock: Clock;
  readonly log: SupervisorLog;
  /** Steps the node down (the cluster's `maintenance-on`); resolves true once the cluster accepted. */
  readonly stepDown: () => Promise<boolean>;
  readonly watchdog?: WatchdogFeeder;
  /** How often probes run and the watchdog is fed; default 1000 ms. */
  readonly feedEveryMs?: number;
  /** The node's state directory (factory reset) and the entries there that survive it. */
  readonly stateDir?: string;
  readonly keepOnReset?: readonly string[];
  /** A service's log line (default: to `log` at info with its name). */
  readonly onServiceLine?: (service: string, line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
}

export interface ServiceStatus {
  readonly name: string;
  readonly state: ReturnType<typeof publicPhase>;
  readonly phase: string;
  readonly pid: number | null;
  readonly restarts: number;
  readonly lastExit: { code: number | null; signal: string | null; agoMs: number } | null;
  readonly critical: boolean;
  readonly reason?: string;
}

export interface SupervisorStatus {
  readonly mode: SupervisorState['mode'];
  readonly services: readonly ServiceStatus[];
  /** `fed`: the critical services are healthy and the watchdog is being fed; `reason` says why (not). */
  readonly watchdog: WatchdogStatus & { readonly fed: boolean; readonly reason: string };
}

export interface SupervisorHandle {
  status(): SupervisorStatus;
  /** Restarts one service (resets its crash history). SUPERVISOR_BAD_REQUEST for an unknown one. */
  restart(service: string): void;
  /** Stops all in order, moves the state dir's contents aside, starts all again. */
  factoryReset(): Promise<{ movedTo: string }>;
  /**
   * The userland reboot: stops all in order (the cluster hands over and releases its addresses) and starts
   * all again. Resolves once they run again. Restarting the machine itself is the image's init's job.
   */
  reboot(): Promise<void>;
  /** The ordered stop; resolves once every process has exited and the watchdog is disarmed. */
  shutdown(): Promise<void>;
  /** Resolves when every service is running (or failed for good) after a start. */
  readonly ready: Promise<void>;
  /** The process's exit status: 0 after shutdown, EXIT_WATCHDOG_RESET after a (sim) watchdog bite. */
  readonly done: Promise<number>;
  /** Every PID the supervisor's services hold now. */
  pids(): number[];
}

/** What a supervisor that "was reset" by its (simulated) watchdog exits with. */
export const EXIT_WATCHDOG_RESET = 3;

export function startSupervisor(o: SupervisorOptions): SupervisorHandle {
  const clock = o.clock;
  const policy: Policy = { ...DEFAULT_POLICY, ...o.policy };
  let state = initialState(o.services, policy);
  const byName = new Map(o.services.map((s) => [s.name, s]));
  const children = new Map<number, ServiceProcess>();
  const queue: SupervisorEvent[] = [];
  let draining = false;
  let timer: Timer | undefined;
  let feedTimer: Timer | undefined;
  let finished = false;
  let stopping: Promise<void> | undefined;
  let resolveReady: () => void = () => {};
  let ready = new Promise<void>((r) => {
    resolveReady = r;
  });
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });
  const stoppedWaiters: (() => void)[] = [];
  let lastVerdict = { feed: true, reason: 'starting' };

  const dispatch = (event: SupervisorEvent): void => {
    queue.push(event);
    if (draining) return;
    draining = true;
    try {
      for (let e = queue.shift(); e !== undefined; e = queue.shift()) {
        const result = step(state, e, clock.now());
        state = result.state;
        for (const action of result.actions) perform(action);
      }
    } finally {
      draining = false;
    }
    rearm();
  };

  const rearm = (): void => {
    timer?.cancel();
    timer = undefined;
    const due = nextDue(state);
    if (due === undefined || finished) return;
    timer = clock.setTimer(Math.max(0, due - clock.now()), () => dispatch({ type: 'tick' }));
  };

  const perform = (a: SupervisorAction): void => {
    switch (a.type) {
      case 'spawn':
        spawn(a.service, a.instance);
        return;
      case 'signal':
        children.get(a.instance)?.signal(a.signal);
        return;
      case 'escalate':
        escalate(a.service, a.escalation);
        return;
      case 'log':
        o.log(a.level, a.msg, a.service === undefined ? undefined : { service: a.service });
        return;
      case 'all-ready':
        resolveReady();
        return;
      case 'all-stopped':
        for (const w of stoppedWaiters.splice(0)) w();
        return;
    }
  };

  const spawn = (name: string, instance: number): void => {
    const svc = byName.get(name) as RunnableService;
    const proc = ServiceProcess.spawn(
      name,
      svc.argv,
      {
        onReady: () => dispatch({ type: 'ready', service: name, instance }),
        onExit: (code, signal) => {
          children.delete(instance);
          dispatch({ type: 'exited', service: name, instance, code, signal });
        },
        onLine: (line) => (o.onServiceLine ?? defaultLine(o.log))(name, line),
      },
      o.env ? { env: o.env } : {},
    );
    children.set(instance, proc);
    if (proc.pid !== undefined) queue.push({ type: 'spawned', service: name, instance, pid: proc.pid });
  };

  const escalate = (name: string, how: Escalation): void => {
    if (how === 'stop-watchdog') {
      o.log('error', `${name} keeps failing: no longer feeding the watchdog`, { service: name });
      return;
    }
    if (how !== 'step-down') return;
    o.log('error', `${name} keeps failing: asking the cluster to step this node down`, { service: name });
    void o.stepDown().then(
      (ok) => dispatch({ type: 'escalated', service: name, ok }),
      () => dispatch({ type: 'escalated', service: name, ok: false }),
    );
  };

  const probeAndFeed = async (): Promise<void> => {
    for (const s of state.services) {
      const probe = byName.get(s.name)?.probe;
      if (s.phase !== 'running' || probe === undefined) continue;
      const instance = s.instance;
      const ok = await probe().catch(() => false);
      dispatch({ type: 'probe', service: s.name, instance, ok });
    }
    const verdict = watchdogVerdict(state);
    if (verdict.feed !== lastVerdict.feed) {
      o.log(
        verdict.feed ? 'info' : 'warn',
        `watchdog: ${verdict.feed ? 'feeding' : 'not feeding'} (${verdict.reason})`,
      );
    }
    lastVerdict = verdict;
    if (verdict.feed) await o.watchdog?.feed();
  };

  const feedLoop = (): void => {
    if (finished) return;
    feedTimer = clock.setTimer(o.feedEveryMs ?? 1000, () => {
      void probeAndFeed()
        .catch((err: unknown) => o.log('error', `watchdog feed: ${String(err)}`))
        .finally(feedLoop);
    });
  };

  const allStopped = (): Promise<void> =>
    new Promise<void>((resolve) => {
      stoppedWaiters.push(resolve);
      dispatch({ type: 'shutdown' });
    });

  const finish = (code: number): void => {
    if (finished) return;
    finished = true;
    timer?.cancel();
    feedTimer?.cancel();
    resolveDone(code);
  };

  o.watchdog?.onReset(() => {
    o.log('error', 'watchdog reset: killing every service process at once');
    for (const child of children.values()) child.signal('SIGKILL');
    finish(EXIT_WATCHDOG_RESET);
  });

  dispatch({ type: 'start' });
  feedLoop();

  /** Stops every service in order, runs `between`, and starts them all again (unless shutting down). */
  const stopAndStart = async <T>(what: string, between: () => T): Promise<T> => {
    if (state.mode !== 'up' || stopping) {
      throw new SupervisorError('SUPERVISOR_BUSY', `the supervisor is ${stopping ? 'stopping' : state.mode}`);
    }
    o.log('warn', `${what}: stopping every service`);
    await allStopped();
    const result = between();
    if (stopping !== undefined || finished) {
      o.log('warn', `${what}: not starting again (shutting down)`);
      return result;
    }
    o.log('warn', `${what}: starting again`);
    ready = new Promise<void>((r) => {
      resolveReady = r;
    });
    dispatch({ type: 'start' });
    return result;
  };

  const handle: SupervisorHandle = {
    status: () => ({
      mode: state.mode,
      services: state.services.map((s) => {
        const spec = byName.get(s.name) as RunnableService;
        return {
          name: s.name,
          state: publicPhase(s),
          phase: s.phase,
          pid: s.pid ?? null,
          restarts: s.restarts,
          lastExit:
            s.lastExit === undefined
              ? null
              : {
                  code: s.lastExit.code,
                  signal: s.lastExit.signal,
                  agoMs: Math.round(clock.now() - s.lastExit.at),
                },
          critical: spec.critical,
          ...(s.reason === undefined ? {} : { reason: s.reason }),
        };
      }),
      watchdog: {
        ...(o.watchdog?.status() ?? { device: null, open: false, keepAlives: 0, timeoutS: null }),
        fed: lastVerdict.feed,
        reason: lastVerdict.reason,
      },
    }),
    restart: (service) => {
      if (!byName.has(service)) {
        throw new SupervisorError(
          'SUPERVISOR_BAD_REQUEST',
          `no service ${JSON.stringify(service)}: expected one of ${[...byName.keys()].join(', ')}`,
        );
      }
      if (state.mode !== 'up')
        throw new SupervisorError('SUPERVISOR_BUSY', `the supervisor is ${state.mode}`);
      dispatch({ type: 'restart', service });
    },
    factoryReset: async () => {
      const dir = o.stateDir;
      if (dir === undefined) throw new SupervisorError('SUPERVISOR_BAD_REQUEST', 'no state directory');
      return stopAndStart('factory reset', () => {
        const movedTo = moveStateAside(dir, clock.wallTime(), o.keepOnReset ?? []);
        o.log('warn', `factory reset: state moved to ${movedTo}`);
        return { movedTo };
      });
    },
    reboot: () => stopAndStart('reboot', () => undefined),
    shutdown: () => {
      stopping ??= (async () => {
        o.log('info', 'shutting down in order');
        await allStopped();
        await o.watchdog?.close();
        finish(0);
      })();
      return stopping;
    },
    get ready() {
      return ready;
    },
    done,
    pids: () => [...children.values()].flatMap((c) => c.pids),
  };
  return handle;
}

function defaultLine(log: SupervisorLog): (service: string, line: string) => void {
  return (service, line) => log('info', line, { service });
}
