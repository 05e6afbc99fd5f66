/**
 * The supervisor's pure core: (state, event, now) → (state, actions). The shell (supervisor.ts) spawns and
 * signals processes, arms one timer for `nextDue(state)` and feeds back what happened. The rules:
 *
 * - Start: a service is spawned once every service it needs is `running` (ready), never before.
 * - Crash: a process that exits on its own (or is not ready within its start timeout) is restarted after
 *   a back-off that starts at `backoffInitialMs` and doubles up to `backoffMaxMs`; a service that ran
 *   `stableMs` after it was ready starts again from the initial delay. Exit status 2 (a usage or
 *   configuration error) is not retried.
 * - Escalation: `crashLimit` crashes within `crashWindowMs` make it `failed`; a critical service then
 *   escalates (`escalate` action: step the node down, or stop feeding the watchdog).
 * - One process per service: a new one is spawned only after the old one's exit has been seen.
 * - Shutdown: each service gets SIGTERM once everything that needs it has exited (reverse dependency
 *   order), SIGKILL after its stop timeout; `all-stopped` when no process is left.
 */
import { dependencyOrder } from './order.ts';
import {
  DEFAULT_POLICY,
  type Phase,
  type Policy,
  type ServiceSpec,
  type ServiceState,
  type Step,
  type SupervisorAction,
  type SupervisorEvent,
  type SupervisorState,
} from './types.ts';

type Draft = { -readonly [K in keyof ServiceState]: ServiceState[K] };

const HAS_PROCESS: readonly Phase[] = ['starting', 'running', 'stopping'];

/** True while the service may have a live process. */
export const hasProcess = (s: ServiceState): boolean => HAS_PROCESS.includes(s.phase);

function fresh(name: string): ServiceState {
  return {
    name,
    phase: 'stopped',
    instance: 0,
    pid: undefined,
    restarts: 0,
    crashes: [],
    delayMs: 0,
    dueAt: undefined,
    readyAt: undefined,
    lastExit: undefined,
    after: 'stopped',
    killed: false,
    restartPending: false,
    escalated: false,
    probeOk: undefined,
    reason: undefined,
  };
}

/** The state before `start`: the table checked and put in dependency order, nothing running. */
export function initialState(
  specs: readonly ServiceSpec[],
  policy: Policy = DEFAULT_POLICY,
): SupervisorState {
  const ordered = dependencyOrder(specs);
  return {
    specs: ordered,
    policy,
    mode: 'down',
    services: ordered.map((s) => fresh(s.name)),
    instances: 0,
    announced: false,
  };
}

/** The earliest time a `tick` has something to do, or undefined. */
export function nextDue(state: SupervisorState): number | undefined {
  let due: number | undefined;
  for (const s of state.services) {
    if (s.dueAt !== undefined && (due === undefined || s.dueAt < due)) due = s.dueAt;
  }
  return due;
}

export interface WatchdogVerdict {
  readonly feed: boolean;
  readonly reason: string;
}

/**
 * Whether the watchdog may be fed now. Up: a service escalating by `stop-watchdog` (the cluster) must be
 * running and answering its probe, or on its first start (no crash since the start); every other critical service must be running or recovering within its
 * restart budget, or failed with the node stepped down. During an orderly stop the watchdog is fed (the
 * stop is bounded by the SIGKILL timeouts; at its end the shell closes it with the magic close).
 */
export function watchdogVerdict(state: SupervisorState): WatchdogVerdict {
  if (state.mode !== 'up')
    return { feed: true, reason: `orderly ${state.mode === 'down' ? 'stop' : 'stopping'}` };
  for (const spec of state.specs) {
    if (!spec.critical) continue;
    const s = serviceOf(state, spec.name);
    if (spec.escalation === 'stop-watchdog') {
      // Its first start (or one an operator asked for) is bounded by the start timeout: fed meanwhile.
      const firstStart = s.crashes.length === 0 && (s.phase === 'waiting' || s.phase === 'starting');
      if (s.phase !== 'running' && !firstStart) return { feed: false, reason: `${spec.name} is ${s.phase}` };
      if (s.probeOk === false) return { feed: false, reason: `${spec.name} does not answer` };
    } else if (s.phase === 'failed' && !s.escalated) {
      return { feed: false, reason: `${spec.name} failed and the node could not step down` };
    }
  }
  return { feed: true, reason: 'critical services healthy' };
}

/** The phase as the control socket reports it (starting|running|backoff|failed|stopped). */
export function publicPhase(s: ServiceState): 'starting' | 'running' | 'backoff' | 'failed' | 'stopped' {
  switch (s.phase) {
    case 'waiting':
      return 'starting';
    case 'stopping':
      return s.after === 'crash' ? 'backoff' : s.after === 'start' ? 'starting' : 'stopped';
    default:
      return s.phase;
  }
}

export function serviceOf(state: SupervisorState, name: string): ServiceState {
  const s = state.services.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no service ${name}`);
  return s;
}

export function step(state: SupervisorState, event: SupervisorEvent, now: number): Step {
  const w = new Work(state, now);
  w.apply(event);
  return w.finish();
}

function describeExit(code: number | null, signal: string | null): string {
  return signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
}

class Work {
  private readonly services: Draft[];
  private readonly actions: SupervisorAction[] = [];
  private mode: SupervisorState['mode'];
  private instances: number;
  private announced: boolean;

  constructor(
    private readonly state: SupervisorState,
    private readonly now: number,
  ) {
    this.services = state.services.map((s) => ({ ...s }));
    this.mode = state.mode;
    this.instances = state.instances;
    this.announced = state.announced;
  }

  finish(): Step {
    return {
      state: {
        specs: this.state.specs,
        policy: this.state.policy,
        mode: this.mode,
        services: this.services,
        instances: this.instances,
        announced: this.announced,
      },
      actions: this.actions,
    };
  }

  apply(event: SupervisorEvent): void {
    switch (event.type) {
      case 'start':
        this.start();
        return;
      case 'spawned': {
        const s = this.current(event.service, event.instance);
        if (s) s.pid = event.pid;
        return;
      }
      case 'ready':
        this.ready(event.service, event.instance);
        return;
      case 'exited':
        this.exited(event.service, event.instance, event.code, event.signal);
        return;
      case 'tick':
        this.tick();
        return;
      case 'restart':
        this.restart(event.service);
        return;
      case 'shutdown':
        this.shutdown();
        return;
      case 'probe': {
        const s = this.current(event.service, event.instance);
        if (s?.phase === 'running') s.probeOk = event.ok;
        return;
      }
      case 'escalated': {
        const s = this.find(event.service);
        if (s?.phase !== 'failed') return;
        s.escalated = event.ok;
        this.log(event.ok ? 'warn' : 'error', `escalation ${event.ok ? 'done' : 'failed'}`, s.name);
        return;
      }
    }
  }

  private find(name: string): Draft | undefined {
    return this.services.find((s) => s.name === name);
  }

  /** The service, if `instance` is its live process. */
  private current(name: string, instance: number): Draft | undefined {
    const s = this.find(name);
    return s !== undefined && s.instance === instance && hasProcess(s) ? s : undefined;
  }

  private spec(name: string): ServiceSpec {
    return this.state.specs.find((x) => x.name === name) as ServiceSpec;
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, service?: string): void {
    this.actions.push({ type: 'log', level, msg, ...(service === undefined ? {} : { service }) });
  }

  private start(): void {
    if (this.mode !== 'down') {
      this.log('warn', `start ignored: the supervisor is ${this.mode}`);
      return;
    }
    this.mode = 'up';
    this.announced = false;
    for (const s of this.services) {
      Object.assign(s, { phase: 'waiting', crashes: [], delayMs: 0, dueAt: undefined, escalated: false });
      Object.assign(s, { reason: undefined, restartPending: false });
    }
    this.settle();
  }

  private ready(name: string, instance: number): void {
    const s = this.current(name, instance);
    if (s?.phase !== 'starting') return;
    s.phase = 'running';
    s.readyAt = this.now;
    s.dueAt = undefined;
    this.log('info', `ready (pid ${s.pid ?? '?'})`, s.name);
    this.settle();
  }

  private exited(name: string, instance: number, code: number | null, signal: string | null): void {
    const s = this.current(name, instance);
    if (s === undefined) return;
    s.pid = undefined;
    s.lastExit = { code, signal, at: this.now };
    s.dueAt = undefined;
    if (s.phase === 'stopping') {
      if (s.after === 'stopped') {
        s.phase = 'stopped';
        this.log('info', `stopped (${describeExit(code, signal)})`, s.name);
      } else if (s.after === 'start') {
        s.phase = 'waiting';
      } else {
        this.crash(s, `was not ready within ${this.startTimeout(s.name)} ms`, code);
      }
    } else if (this.mode === 'stopping') {
      s.phase = 'stopped';
      this.log('warn', `${describeExit(code, signal)} during shutdown`, s.name);
    } else {
      this.crash(s, describeExit(code, signal), code);
    }
    this.settle();
  }

  private crash(s: Draft, why: string, code: number | null): void {
    const { policy } = this.state;
    s.crashes = [...s.crashes.filter((t) => this.now - t < policy.crashWindowMs), this.now];
    if (code === 2) {
      this.fail(s, `${why}: a usage or configuration error, not retried`);
      return;
    }
    if (s.crashes.length >= policy.crashLimit) {
      this.fail(s, `${why}: ${s.crashes.length} crashes within ${policy.crashWindowMs} ms`);
      return;
    }
    const stable = s.readyAt !== undefined && this.now - s.readyAt >= policy.stableMs;
    s.delayMs =
      s.delayMs === 0 || stable ? policy.backoffInitialMs : Math.min(s.delayMs * 2, policy.backoffMaxMs);
    s.phase = 'backoff';
    s.dueAt = this.now + s.delayMs;
    s.readyAt = undefined;
    s.restartPending = true;
    this.log('warn', `${why}; restarting in ${s.delayMs} ms`, s.name);
  }

  private fail(s: Draft, reason: string): void {
    s.phase = 'failed';
    s.reason = reason;
    s.dueAt = undefined;
    s.readyAt = undefined;
    s.restartPending = false;
    s.escalated = false;
    const spec = this.spec(s.name);
    this.log('error', `failed: ${reason}`, s.name);
    if (spec.critical && spec.escalation !== 'none') {
      this.actions.push({ type: 'escalate', service: s.name, escalation: spec.escalation });
    }
  }

  private tick(): void {
    for (const s of this.services) {
      if (s.dueAt === undefined || s.dueAt > this.now) continue;
      s.dueAt = undefined;
      if (s.phase === 'backoff') {
        s.phase = 'waiting';
      } else if (s.phase === 'starting') {
        this.log(
          'warn',
          `not ready within ${this.startTimeout(s.name)} ms: killing pid ${s.pid ?? '?'}`,
          s.name,
        );
        this.kill(s, 'crash');
      } else if (s.phase === 'stopping' && !s.killed) {
        this.log(
          'warn',
          `did not stop within ${this.stopTimeout(s.name)} ms: killing pid ${s.pid ?? '?'}`,
          s.name,
        );
        this.kill(s, s.after);
      }
    }
    this.settle();
  }

  private kill(s: Draft, after: Draft['after']): void {
    this.actions.push({ type: 'signal', service: s.name, instance: s.instance, signal: 'SIGKILL' });
    s.phase = 'stopping';
    s.after = after;
    s.killed = true;
    s.dueAt = undefined;
  }

  private terminate(s: Draft, after: Draft['after']): void {
    this.actions.push({ type: 'signal', service: s.name, instance: s.instance, signal: 'SIGTERM' });
    s.phase = 'stopping';
    s.after = after;
    s.killed = false;
    s.dueAt = this.now + this.stopTimeout(s.name);
  }

  private restart(name: string): void {
    const s = this.find(name);
    if (s === undefined) {
      this.log('warn', `restart ignored: no service ${name}`);
      return;
    }
    if (this.mode !== 'up') {
      this.log('warn', `restart ignored: the supervisor is ${this.mode}`, name);
      return;
    }
    Object.assign(s, { crashes: [], delayMs: 0, escalated: false, reason: undefined });
    this.log('info', 'restart requested', name);
    if (s.phase === 'starting' || s.phase === 'running') this.terminate(s, 'start');
    else if (s.phase === 'stopping') s.after = 'start';
    else Object.assign(s, { phase: 'waiting', dueAt: undefined, restartPending: false });
    this.settle();
  }

  private shutdown(): void {
    if (this.mode === 'down') {
      this.actions.push({ type: 'all-stopped' });
      return;
    }
    this.mode = 'stopping';
    for (const s of this.services) {
      if (s.phase === 'waiting' || s.phase === 'backoff') {
        Object.assign(s, { phase: 'stopped', dueAt: undefined, restartPending: false });
      } else if (s.phase === 'stopping' && s.after !== 'stopped') {
        s.after = 'stopped';
      }
    }
    this.settle();
  }

  private settle(): void {
    if (this.mode === 'up') this.settleUp();
    else if (this.mode === 'stopping') this.settleStopping();
  }

  private settleUp(): void {
    for (const s of this.services) {
      if (s.phase !== 'waiting') continue;
      const needs = this.spec(s.name).needs;
      if (!needs.every((n) => this.find(n)?.phase === 'running')) continue;
      this.instances += 1;
      Object.assign(s, { phase: 'starting', instance: this.instances, pid: undefined, readyAt: undefined });
      Object.assign(s, { probeOk: undefined, killed: false, dueAt: this.now + this.startTimeout(s.name) });
      if (s.restartPending) {
        s.restarts += 1;
        s.restartPending = false;
      }
      this.actions.push({ type: 'spawn', service: s.name, instance: s.instance });
    }
    if (!this.announced && this.services.every((s) => s.phase === 'running' || s.phase === 'failed')) {
      this.announced = true;
      this.actions.push({ type: 'all-ready' });
    }
  }

  private settleStopping(): void {
    for (const s of [...this.services].reverse()) {
      if (s.phase !== 'starting' && s.phase !== 'running') continue;
      const dependents = this.state.specs.filter((x) => x.needs.includes(s.name));
      if (dependents.some((d) => hasProcess(this.find(d.name) as Draft))) continue;
      this.terminate(s, 'stopped');
    }
    if (!this.services.some(hasProcess)) {
      this.mode = 'down';
      this.actions.push({ type: 'all-stopped' });
    }
  }

  private startTimeout(name: string): number {
    return this.spec(name).startTimeoutMs ?? this.state.policy.startTimeoutMs;
  }

  private stopTimeout(name: string): number {
    return this.spec(name).stopTimeoutMs ?? this.state.policy.stopTimeoutMs;
  }
}
