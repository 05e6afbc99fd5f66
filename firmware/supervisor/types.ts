/**
 * The supervisor's pure core, as data: the services it runs, its state, the events the shell feeds it and
 * the actions it returns (policy.ts). Nothing here touches a process, a timer or a socket.
 */

/** What the supervisor does when a critical service has used up its restarts. */
export type Escalation =
  /** Ask the cluster to step the node down (`maintenance-on` on its control socket). */
  | 'step-down'
  /** The cluster itself is failing: stop feeding the watchdog, so the hardware resets the box. */
  | 'stop-watchdog'
  | 'none';

export interface ServiceSpec {
  readonly name: string;
  readonly critical: boolean;
  /** Services that must be ready before this one starts (they are stopped after it). */
  readonly needs: readonly string[];
  readonly escalation: Escalation;
  /** Overrides Policy.startTimeoutMs / stopTimeoutMs for this service. */
  readonly startTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
}

export interface Policy {
  /** The first restart delay; each crash without a stable run doubles it, up to backoffMaxMs. */
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** A service that ran this long after it was ready starts again from backoffInitialMs. */
  readonly stableMs: number;
  /** This many crashes within crashWindowMs make the service `failed` (and escalate if critical). */
  readonly crashLimit: number;
  readonly crashWindowMs: number;
  /** A service not ready this long after its spawn is killed and counted as a crash. */
  readonly startTimeoutMs: number;
  /** After SIGTERM, this long before SIGKILL. */
  readonly stopTimeoutMs: number;
}

export const DEFAULT_POLICY: Policy = {
  backoffInitialMs: 200,
  backoffMaxMs: 30_000,
  stableMs: 10_000,
  crashLimit: 5,
  crashWindowMs: 60_000,
  startTimeoutMs: 30_000,
  stopTimeoutMs: 5000,
};

/**
 * A service's phase. `waiting`: to be started once its needs are ready; `stopping`: signalled, its exit
 * not seen yet (what follows is `after`). Only `starting`, `running` and `stopping` have a process.
 */
export type Phase = 'stopped' | 'waiting' | 'starting' | 'running' | 'backoff' | 'stopping' | 'failed';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: number;
}

export interface ServiceState {
  readonly name: string;
  readonly phase: Phase;
  /** The id of the current (or last) process; events naming another instance are stale and ignored. */
  readonly instance: number;
  readonly pid: number | undefined;
  /** Automatic restarts since the supervisor started (an operator's restart does not count). */
  readonly restarts: number;
  /** Crash times within the crash window. */
  readonly crashes: readonly number[];
  /** The last back-off delay used; 0 before the first crash or after a reset. */
  readonly delayMs: number;
  /** When the current phase's timer is due: back-off end, start deadline or SIGKILL deadline. */
  readonly dueAt: number | undefined;
  readonly readyAt: number | undefined;
  readonly lastExit: ExitInfo | undefined;
  /** `stopping` only: what follows the exit. */
  readonly after: 'stopped' | 'crash' | 'start';
  /** `stopping` only: SIGKILL has been sent. */
  readonly killed: boolean;
  /** The next spawn is an automatic restart. */
  readonly restartPending: boolean;
  /** `failed` only: the escalation was carried out (the node stepped down). */
  readonly escalated: boolean;
  /** The last liveness probe (the cluster's control socket); undefined before the first. */
  readonly probeOk: boolean | undefined;
  /** Why it is `failed`. */
  readonly reason: string | undefined;
}

export type Mode = 'down' | 'up' | 'stopping';

export interface SupervisorState {
  readonly specs: readonly ServiceSpec[];
  readonly policy: Policy;
  readonly mode: Mode;
  readonly services: readonly ServiceState[];
  /** The last instance id handed out. */
  readonly instances: number;
  /** `all-ready` was announced for this start. */
  readonly announced: boolean;
}

export type SupervisorEvent =
  | { readonly type: 'start' }
  | { readonly type: 'spawned'; readonly service: string; readonly instance: number; readonly pid: number }
  | { readonly type: 'ready'; readonly service: string; readonly instance: number }
  | {
      readonly type: 'exited';
      readonly service: string;
      readonly instance: number;
      readonly code: number | null;
      readonly signal: string | null;
    }
  | { readonly type: 'tick' }
  | { readonly type: 'restart'; readonly service: string }
  | { readonly type: 'shutdown' }
  | { readonly type: 'probe'; readonly service: string; readonly instance: number; readonly ok: boolean }
  | { readonly type: 'escalated'; readonly service: string; readonly ok: boolean };

export type SupervisorAction =
  | { readonly type: 'spawn'; readonly service: string; readonly instance: number }
  | {
      readonly type: 'signal';
      readonly service: string;
      readonly instance: number;
      readonly signal: 'SIGTERM' | 'SIGKILL';
    }
  | { readonly type: 'escalate'; readonly service: string; readonly escalation: Escalation }
  | {
      readonly type: 'log';
      readonly level: 'info' | 'warn' | 'error';
      readonly msg: string;
      readonly service?: string;
    }
  /** Every service is running or failed for good (announced once per start). */
  | { readonly type: 'all-ready' }
  /** After `shutdown`: no service has a process any more. */
  | { readonly type: 'all-stopped' };

export interface Step {
  readonly state: SupervisorState;
  readonly actions: readonly SupervisorAction[];
}
