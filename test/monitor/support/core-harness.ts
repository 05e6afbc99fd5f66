/**
 * Drives the pure monitor core the way the service shell does, in virtual time: steps 'tick' at each
 * `nextDeadline`, answers each probe through a responder (at once, later, or never), and records every
 * action with the time it was emitted.
 */
import type { ProbeResult } from '../../../firmware/monitor/checks/types.ts';
import { resolveConfig } from '../../../firmware/monitor/config.ts';
import {
  type CoreState,
  initialState,
  type MonitorAction,
  type MonitorEvent,
  nextDeadline,
  step,
} from '../../../firmware/monitor/core.ts';

export type ProbeAction = Extract<MonitorAction, { type: 'probe' }>;
/** What a probe does: answer now, answer after `afterMs`, or never (it will time out). */
export type Answer = ProbeResult | { afterMs: number; result: ProbeResult } | 'hang';
export type Responder = (probe: ProbeAction, now: number) => Answer;

export const OK: ProbeResult = { ok: true, latencyMs: 1 };
export const FAIL = (reason = 'refused'): ProbeResult => ({ ok: false, latencyMs: 1, reason });

export class Harness {
  state: CoreState;
  now = 0;
  readonly log: { at: number; action: MonitorAction }[] = [];
  private readonly later: { at: number; event: MonitorEvent }[] = [];
  responder: Responder = () => OK;

  constructor(doc: unknown, seed = 1, tickMs = 0) {
    this.state = initialState(seed, 0, tickMs);
    this.feed({ type: 'configure', plan: resolveConfig(doc) });
  }

  feed(event: MonitorEvent, at = this.now): MonitorAction[] {
    this.now = at;
    const { state, actions } = step(this.state, event, at);
    this.state = state;
    for (const action of actions) {
      this.log.push({ at, action });
      if (action.type === 'probe') this.answer(action);
    }
    return [...actions];
  }

  reconfigure(doc: unknown): MonitorAction[] {
    return this.feed({ type: 'configure', plan: resolveConfig(doc) });
  }

  private answer(probe: ProbeAction): void {
    const a = this.responder(probe, this.now);
    if (a === 'hang') return;
    const [delay, result] = 'afterMs' in a ? [a.afterMs, a.result] : [0, a];
    this.later.push({
      at: this.now + delay,
      event: { type: 'result', check: probe.check, probe: probe.probe, result },
    });
  }

  /** Runs virtual time up to `until` (inclusive). */
  runUntil(until: number): void {
    for (;;) {
      this.later.sort((a, b) => a.at - b.at);
      const due = nextDeadline(this.state) ?? Number.POSITIVE_INFINITY;
      const next = this.later[0];
      if (next !== undefined && next.at <= due && next.at <= until) {
        this.later.shift();
        this.feed(next.event, Math.max(this.now, next.at));
      } else if (due <= until) {
        this.feed({ type: 'tick' }, Math.max(this.now, due));
      } else {
        this.now = Math.max(this.now, until);
        return;
      }
    }
  }

  actions<T extends MonitorAction['type']>(
    type: T,
    since = 0,
  ): { at: number; action: Extract<MonitorAction, { type: T }> }[] {
    return this.log.filter((e) => e.at >= since && e.action.type === type) as {
      at: number;
      action: Extract<MonitorAction, { type: T }>;
    }[];
  }
}
