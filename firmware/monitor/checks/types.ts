/**
 * The one interface every health check meets (keepalived's checker_funcs_t, as a descriptor): a kind
 * tag, a spec parser, `sameConfig` for reloads, and a probe. Checks are pure probes: they never change
 * forwarding, never call each other, and keep no retry or up/down logic (the monitor core owns rise and
 * fall, scheduling and timeouts).
 */
import type { Clock } from '../../../hal/clock/types.ts';
import type { Pinger } from '../../../hal/icmp/types.ts';
import type { IdleConnections } from './idle-connections.ts';

/** What a probe is aimed at: one real server of one service (or one of the appliance's own components). */
export interface CheckTarget {
  /** The virtual service (or `self` for the appliance's own components). */
  readonly service: string;
  /** The real server (or component) name. */
  readonly server: string;
  /** IPv4 or IPv6 literal. */
  readonly address: string;
  /** The server's port (0 when the target has none, such as a gateway). */
  readonly port: number;
}

/** The drivers a probe may use. Handed in by the service shell; checks never construct drivers. */
export interface CheckDrivers {
  readonly clock: Clock;
  readonly pinger: Pinger;
  /** Where kept-alive HTTP connections wait between probes (without it every probe connects afresh). */
  readonly connections?: IdleConnections;
}

export interface RunContext {
  /** Aborts the probe (the core's timeout, or shutdown): the probe must stop and release what it holds. */
  readonly signal: AbortSignal;
  /** True once the probe has been aborted (reading it never creates the signal). */
  readonly aborted: boolean;
  /**
   * A cheaper way to hear of the abort than a listener on `signal` (which is made on first use): `fn`
   * runs once when the probe is aborted, at once if it already was. One slot: a later call replaces the
   * callback, `undefined` clears it.
   */
  onAbort(fn: (() => void) | undefined): void;
  /** The check's timeout in ms; `signal` aborts when it passes. Probes that need a number (ping) use it. */
  readonly timeoutMs: number;
  readonly drivers: CheckDrivers;
}

/** The outcome of one probe. `latencyMs` is from the start of the probe to its answer (or failure). */
export type ProbeResult =
  | { readonly ok: true; readonly latencyMs: number; readonly detail?: string }
  | { readonly ok: false; readonly latencyMs: number; readonly reason: string };

export interface CheckKind<S = unknown> {
  /** The tag in config (`kind: 'http'`). */
  readonly kind: string;
  /** The probe runs a program: it takes a slot of the smaller pool for programs (maxConcurrentScripts). */
  readonly runsProgram?: boolean;
  /** Rise/fall used when the config gives none (e.g. maintenance acts on the first probe). */
  readonly defaults?: { readonly rise?: number; readonly fall?: number };
  /**
   * Validates the kind's own fields (the common policy fields interval, timeout, rise, fall, ... are
   * removed before) and returns the parsed spec. Throws a ConfigFieldError naming the field and value.
   */
  parse(spec: unknown): S;
  /** True when two parsed specs probe the same way: a reload keeps the check's up/down state and counts. */
  sameConfig(a: S, b: S): boolean;
  /**
   * Probes `target` once. Resolves with ok or a failure reason; should not reject (a rejection is taken
   * as a failed probe whose reason is the error's message). Once `signal` aborts it must settle soon and
   * leave nothing running (sockets destroyed, child processes killed).
   */
  run(target: CheckTarget, spec: S, context: RunContext): Promise<ProbeResult>;
}
