/**
 * The monitor core: scheduling, rise/fall, quorum, sorry server and the appliance health score, as
 * `step(state, event, now) → { state, actions }`.
 *
 * Rule 1: pure. No clock, randomness, I/O, timers or logging. Time comes in as `now` (monotonic ms, never
 * going backwards: MONITOR_TIME_BACKWARDS); jitter comes from the seeded generator kept in the state;
 * effects go out as actions the shell carries out in order; `nextDeadline` is the one timer to arm. The
 * state passed in is never changed.
 *
 * Rule 2: scheduling. A check's first probe starts at a random offset in [0, jitterMs) after it appears,
 * then one probe starts every intervalMs on that grid, at the first multiple of the state's tickMs at or
 * after its slot, so probes due close together start in one tick (never two at once: when a probe
 * overruns its interval, or a tick comes late, the missed slots are skipped and the grid keeps its
 * phase, so checks spread by jitter stay spread after a stall). After a failure of an up check the next
 * probe comes after retryMs when set (the grid then continues from the retry). A probe still running
 * timeoutMs after it started is aborted at that exact time and counts as a failure; its late result is
 * ignored. A probe waiting for a slot in the shell's pool ('queued') has no timeout until it starts
 * ('started').
 *
 * Rule 3: hysteresis per check. An up check goes down after `fall` consecutive failures, a down one comes
 * up after `rise` consecutive successes. A server is up while all its checks are (none: always up).
 * Checks start up, or down when the service says startDown.
 *
 * Rule 4: each service keeps a quorum with hysteresis (keepalived): it is lost when the live weight (sum
 * of up servers' weights) drops below quorum - hysteresis and met again at quorum + hysteresis. Its sorry
 * server is active while no server is up.
 *
 * Rule 5: every record says a whole state (safe to repeat). Records are emitted for transitions, for
 * everything new in a configuration (cause 'initial') and for what a reload changed ('reconfigured').
 * A reload keeps the state of a check whose kind says sameConfig, on a server with the same name,
 * address and port.
 *
 * Rule 6: the health score is round(100 × healthy weight / total weight) over the self components (link
 * carriers, gateway and service checks); emitted when it or any component's health changes.
 */
import { type RngState, rngSeed } from '../../hal/sim/rng.ts';
import type { CheckKind, CheckTarget, ProbeResult } from './checks/types.ts';
import { Draft } from './core-draft.ts';
import { MonitorError } from './errors.ts';
import type { CheckPlan, MonitorPlan, ServicePlan } from './plan.ts';
import { PVec } from './pvec.ts';
import type {
  ApplianceHealthRecord,
  ComponentHealth,
  QuorumRecord,
  RecordCause,
  ServerHealthRecord,
  SorryRecord,
} from './types.ts';

/** Who a check belongs to: a real server (index into `servers`) or a self component (into `components`). */
type Owner =
  | { readonly type: 'server'; readonly index: number }
  | { readonly type: 'component'; readonly index: number };

export interface InFlight {
  readonly id: number;
  /** The grid slot the probe was scheduled for (its dueAt); the next slots follow from it. */
  readonly slot: number;
  readonly startedAt: number;
  readonly deadline: number;
}

export interface CheckState {
  readonly plan: CheckPlan;
  readonly owner: Owner;
  readonly target: CheckTarget;
  readonly up: boolean;
  readonly okStreak: number;
  readonly failStreak: number;
  /** When the next probe is due (meaningful while no probe is in flight). */
  readonly dueAt: number;
  readonly probe: InFlight | undefined;
  readonly reason: string;
}

/**
 * Every check state is made here, with its fields in one order, so V8 keeps one hidden class for the
 * table (spreads of states whose fields had changed representation went through its slow paths).
 */
function checkState(
  c: Pick<CheckState, 'plan' | 'owner' | 'target'>,
  up: boolean,
  okStreak: number,
  failStreak: number,
  dueAt: number,
  probe: InFlight | undefined,
  reason: string,
): CheckState {
  return { plan: c.plan, owner: c.owner, target: c.target, up, okStreak, failStreak, dueAt, probe, reason };
}

const withProbe = (c: CheckState, probe: InFlight): CheckState =>
  checkState(c, c.up, c.okStreak, c.failStreak, c.dueAt, probe, c.reason);

export interface ServerState {
  readonly service: string;
  readonly onFall: 'quiesce' | 'remove';
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly checks: readonly number[];
  readonly up: boolean;
  readonly reason: string;
}

export interface ServiceState {
  readonly plan: ServicePlan;
  readonly servers: readonly number[];
  readonly liveWeight: number;
  readonly upCount: number;
  readonly quorumMet: boolean;
  readonly sorryActive: boolean;
}

export interface ComponentState {
  readonly name: string;
  readonly kind: ComponentHealth['kind'];
  readonly weight: number;
  /** For link components: the interface whose carrier counts. */
  readonly link: string | undefined;
  /** For check components: the check's index. */
  readonly check: number | undefined;
  readonly healthy: boolean;
  readonly detail: string;
}

export interface CoreState {
  readonly now: number;
  /** Due probes start at the next multiple of this (0: exactly when due); timeouts are always exact. */
  readonly tickMs: number;
  readonly rng: RngState;
  readonly nextProbeId: number;
  readonly plan: MonitorPlan | undefined;
  readonly checks: PVec<CheckState>;
  /**
   * Each check's next deadline (its probe's timeout while one is in flight, else when the next is due),
   * by check index: a tick scans these numbers instead of the check objects. Never written once frozen.
   */
  readonly deadlines: PVec<number>;
  readonly servers: readonly ServerState[];
  readonly services: readonly ServiceState[];
  readonly components: readonly ComponentState[];
  /** Carrier of each link by name, as last reported (links not reported yet are absent). */
  readonly carriers: ReadonlyMap<string, boolean>;
  readonly score: number | undefined;
  readonly counters: { readonly timeouts: number; readonly staleResults: number };
}

export type MonitorEvent =
  /** A new (or the first) configuration. */
  | { readonly type: 'configure'; readonly plan: MonitorPlan }
  /** Time passed: start due probes, time out overdue ones. */
  | { readonly type: 'tick' }
  /**
   * The probe had to wait for a slot: its timeout is suspended until 'started'. `check` is the index the
   * probe action named: a hint, since a reload may move the check.
   */
  | { readonly type: 'queued'; readonly check: number; readonly probe: number }
  /** A queued probe got a slot and started now: its timeout runs from here. */
  | { readonly type: 'started'; readonly check: number; readonly probe: number }
  | { readonly type: 'result'; readonly check: number; readonly probe: number; readonly result: ProbeResult }
  /** The carrier of links (a full snapshot or one change). */
  | { readonly type: 'carrier'; readonly links: Readonly<Record<string, boolean>> };

export type MonitorAction =
  | {
      readonly type: 'probe';
      readonly check: number;
      readonly probe: number;
      readonly kind: CheckKind;
      readonly spec: unknown;
      readonly target: CheckTarget;
      readonly timeoutMs: number;
    }
  | { readonly type: 'abort'; readonly probe: number }
  /** One check changed state (for the log; the server record carries the decision). */
  | {
      readonly type: 'check';
      readonly kind: string;
      readonly target: CheckTarget;
      readonly up: boolean;
      readonly reason: string;
    }
  | { readonly type: 'server'; readonly record: ServerHealthRecord }
  | { readonly type: 'server-removed'; readonly service: string; readonly server: string }
  | { readonly type: 'quorum'; readonly record: QuorumRecord }
  | { readonly type: 'sorry'; readonly record: SorryRecord }
  | { readonly type: 'score'; readonly record: ApplianceHealthRecord; readonly initial: boolean };

export interface StepResult {
  readonly state: CoreState;
  readonly actions: readonly MonitorAction[];
  /**
   * When to tick next, at the latest. After 'tick' and 'configure' it is `nextDeadline(state)`; after the
   * other events it is the earliest deadline among the checks the event changed (a timer already armed
   * for earlier can stay). Saves the shell an O(checks) scan per probe result.
   */
  readonly wake: number | undefined;
}

export function initialState(seed: number, now: number, tickMs = 0): CoreState {
  if (!(Number.isFinite(tickMs) && tickMs >= 0)) {
    throw new MonitorError('MONITOR_INVALID_CONFIG', `tickMs should be a number >= 0, got ${tickMs}`);
  }
  return {
    now,
    tickMs,
    rng: rngSeed(seed),
    nextProbeId: 1,
    plan: undefined,
    checks: PVec.from<CheckState>([]),
    deadlines: PVec.from<number>([]),
    servers: [],
    services: [],
    components: [],
    carriers: new Map(),
    score: undefined,
    counters: { timeouts: 0, staleResults: 0 },
  };
}

export function step(state: CoreState, event: MonitorEvent, now: number): StepResult {
  if (!Number.isFinite(now))
    throw new MonitorError('MONITOR_INVALID_EVENT', `now should be a finite number, got ${now}`);
  if (now < state.now) {
    throw new MonitorError('MONITOR_TIME_BACKWARDS', `now ${now} is before the previous ${state.now}`);
  }
  const d = new Draft(state, now);
  let tickWake: number | undefined;
  switch (event.type) {
    case 'configure':
      configure(d, event.plan);
      break;
    case 'tick':
      tickWake = tick(d);
      break;
    case 'queued':
      queued(d, event.check, event.probe);
      break;
    case 'started':
      started(d, event.check, event.probe);
      break;
    case 'result':
      result(d, event.check, event.probe, event.result);
      break;
    case 'carrier':
      carrier(d, event.links);
      break;
    default:
      throw new MonitorError(
        'MONITOR_INVALID_EVENT',
        `unknown event type ${String((event as { type: unknown }).type)}`,
      );
  }
  settle(d, 'transition');
  const next = d.freeze();
  // A tick has scanned every check already; settle() after it may only have touched servers and services.
  const least =
    event.type === 'configure'
      ? (nextDeadline(next) ?? Number.POSITIVE_INFINITY)
      : Math.min(tickWake ?? Number.POSITIVE_INFINITY, d.wake);
  const wake = least === Number.POSITIVE_INFINITY ? undefined : least;
  return { state: next, actions: d.actions, wake };
}

/** The time at which the core wants a 'tick' (the earliest due probe or probe deadline), if any. */
export function nextDeadline(state: CoreState): number | undefined {
  let next = Number.POSITIVE_INFINITY;
  const deadlines = state.deadlines;
  for (let i = 0; i < deadlines.length; i++) {
    const t = deadlines.at(i) as number;
    if (t < next) next = t;
  }
  return next === Number.POSITIVE_INFINITY ? undefined : next;
}

// ---- events

/** Starts due probes and times out overdue ones; returns the earliest deadline left (for `wake`). */
function tick(d: Draft): number {
  let next = Number.POSITIVE_INFINITY;
  const now = d.now;
  // Most ticks find a few due checks among a thousand: scan the deadlines chunk by chunk, plain reads.
  let i = 0;
  for (const chunk of d.baseDeadlines.chunkList()) {
    for (const due of chunk) {
      const index = i++;
      if (due > now) {
        if (due < next) next = due;
        continue;
      }
      const t = visitDue(d, index);
      if (t < next) next = t;
    }
  }
  return next;
}

/** Check `i` is due: times out its probe in flight, starts the next one; returns its next deadline. */
function visitDue(d: Draft, i: number): number {
  // Only index i is written while i is visited, so the step's starting table is current here.
  let c = d.baseCheck(i) as CheckState;
  if (c.probe !== undefined) {
    if (c.probe.deadline <= d.now) {
      d.timeouts++;
      d.actions.push({ type: 'abort', probe: c.probe.id });
      const reason = `timed out after ${c.plan.policy.timeoutMs} ms`;
      apply(d, i, c, { ok: false, latencyMs: d.now - c.probe.startedAt, reason });
      c = d.check(i) as CheckState;
      if (c.dueAt <= d.now) c = launch(d, i, c);
    }
  } else if (c.dueAt <= d.now) {
    c = launch(d, i, c);
  }
  return c.probe === undefined ? c.dueAt : c.probe.deadline;
}

function launch(d: Draft, i: number, c: CheckState): CheckState {
  const id = d.nextProbeId++;
  const { timeoutMs } = c.plan.policy;
  const next = withProbe(c, { id, slot: c.dueAt, startedAt: d.now, deadline: d.now + timeoutMs });
  d.setCheck(i, next);
  d.actions.push({
    type: 'probe',
    check: i,
    probe: id,
    kind: c.plan.kind,
    spec: c.plan.spec,
    target: c.target,
    timeoutMs,
  });
  return next;
}

/** The index of the check whose probe in flight is `probe`: `hint` unless a reload moved it. */
function findProbe(d: Draft, hint: number, probe: number): number {
  if (d.check(hint)?.probe?.id === probe) return hint;
  return d.findCheck((c) => c.probe?.id === probe);
}

function queued(d: Draft, hint: number, probe: number): void {
  const i = findProbe(d, hint, probe);
  const c = d.check(i);
  if (c?.probe === undefined) return;
  const { id, slot, startedAt } = c.probe;
  d.setCheck(i, withProbe(c, { id, slot, startedAt, deadline: Number.POSITIVE_INFINITY }));
}

function started(d: Draft, hint: number, probe: number): void {
  const i = findProbe(d, hint, probe);
  const c = d.check(i);
  if (c?.probe === undefined) return;
  const { id, slot } = c.probe;
  d.setCheck(i, withProbe(c, { id, slot, startedAt: d.now, deadline: d.now + c.plan.policy.timeoutMs }));
}

function result(d: Draft, hint: number, probe: number, r: ProbeResult): void {
  const i = findProbe(d, hint, probe);
  const c = d.check(i);
  if (c === undefined) {
    d.staleResults++;
    return;
  }
  apply(d, i, c, r);
}

/** Counts one outcome of check i's probe in flight, schedules its next probe, and notes transitions. */
function apply(d: Draft, i: number, c: CheckState, r: ProbeResult): void {
  const { rise, fall, intervalMs, retryMs } = c.plan.policy;
  const slot = c.probe?.slot ?? d.now;
  const okStreak = r.ok ? c.okStreak + 1 : 0;
  const failStreak = r.ok ? 0 : c.failStreak + 1;
  let up = c.up;
  if (up && !r.ok && failStreak >= fall) up = false;
  else if (!up && r.ok && okStreak >= rise) up = true;
  const retry = !r.ok && up && retryMs !== undefined;
  // The first grid slot after now: slot + interval, or later ones when this probe or its tick ran late.
  const dueAt = retry ? d.now + retryMs : slot + (Math.floor((d.now - slot) / intervalMs) + 1) * intervalMs;
  const reason = r.ok ? (r.detail ?? 'ok') : r.reason;
  d.setCheck(i, checkState(c, up, okStreak, failStreak, dueAt, undefined, reason));
  if (up !== c.up) {
    d.actions.push({ type: 'check', kind: c.plan.kind.kind, target: c.target, up, reason });
    markOwner(d, c.owner);
  }
}

function markOwner(d: Draft, owner: Owner): void {
  if (owner.type === 'server') {
    const s = d.servers[owner.index] as ServerState;
    const next = serverFrom(d, s);
    if (next.up !== s.up) {
      d.setServer(owner.index, next);
      d.actions.push({ type: 'server', record: serverRecord(next, next.up ? 'rise' : 'fall') });
      const svc = d.services.findIndex((v) => v.plan.name === s.service);
      if (svc >= 0) d.markService(svc);
    }
  } else {
    const comp = d.components[owner.index] as ComponentState;
    const check = comp.check === undefined ? undefined : d.check(comp.check);
    if (check !== undefined) {
      d.setComponent(owner.index, { ...comp, healthy: check.up, detail: check.reason });
      d.dirtyScore = true;
    }
  }
}

function carrier(d: Draft, links: Readonly<Record<string, boolean>>): void {
  const next = new Map(d.carriers);
  for (const [name, up] of Object.entries(links)) next.set(name, up);
  d.carriers = next;
  d.components.forEach((comp, i) => {
    if (comp.link === undefined) return;
    const healthy = next.get(comp.link) === true;
    if (healthy !== comp.healthy) {
      d.setComponent(i, { ...comp, healthy, detail: linkDetail(comp.link, next.get(comp.link)) });
      d.dirtyScore = true;
    }
  });
}

function linkDetail(link: string, carrierUp: boolean | undefined): string {
  return carrierUp === undefined ? `${link}: not found` : `${link}: carrier ${carrierUp ? 'up' : 'down'}`;
}

// ---- derived state

function serverFrom(d: Draft, s: ServerState): ServerState {
  let up = true;
  let reason = 'all checks up';
  for (const ci of s.checks) {
    const c = d.check(ci) as CheckState;
    if (!c.up) {
      up = false;
      reason = `${c.plan.kind.kind}: ${c.reason}`;
      break;
    }
  }
  if (up && s.checks.length === 0) reason = 'no checks';
  return up === s.up && reason === s.reason ? s : { ...s, up, reason };
}

function serverRecord(s: ServerState, cause: RecordCause): ServerHealthRecord {
  return {
    service: s.service,
    server: s.name,
    address: s.address,
    port: s.port,
    state: s.up ? 'up' : 'down',
    action: s.up ? 'restore' : s.onFall,
    weight: s.up ? s.weight : 0,
    cause,
    reason: s.reason,
  };
}

function liveOf(d: Draft, servers: readonly number[]): { liveWeight: number; upCount: number } {
  let liveWeight = 0;
  let upCount = 0;
  for (const i of servers) {
    const s = d.servers[i] as ServerState;
    if (s.up) {
      liveWeight += s.weight;
      upCount++;
    }
  }
  return { liveWeight, upCount };
}

function quorumAfter(plan: ServicePlan, met: boolean, liveWeight: number): boolean {
  if (met) return liveWeight >= plan.quorum - plan.quorumHysteresis;
  return liveWeight >= plan.quorum + plan.quorumHysteresis;
}

/** Re-evaluates dirty services (quorum, sorry server) and the score; pushes records for what changed. */
function settle(d: Draft, cause: 'transition' | 'reconfigured'): void {
  for (const si of d.dirtyServices ?? []) {
    const svc = d.services[si] as ServiceState;
    const { liveWeight, upCount } = liveOf(d, svc.servers);
    const quorumMet = quorumAfter(svc.plan, svc.quorumMet, liveWeight);
    const sorryActive = upCount === 0;
    d.setService(si, { ...svc, liveWeight, upCount, quorumMet, sorryActive });
    if (quorumMet !== svc.quorumMet && svc.plan.quorum > 0) {
      d.actions.push({ type: 'quorum', record: quorumRecord(svc.plan, quorumMet, liveWeight, cause) });
    }
    if (sorryActive !== svc.sorryActive && svc.plan.sorryServer !== undefined) {
      d.actions.push({ type: 'sorry', record: sorryRecord(svc.plan, sorryActive, cause) });
    }
  }
  d.dirtyServices = undefined;
  if (d.dirtyScore) {
    d.dirtyScore = false;
    const record = scoreRecord(d.components);
    d.actions.push({ type: 'score', record, initial: d.score === undefined });
    d.score = record.score;
  }
}

function quorumRecord(
  plan: ServicePlan,
  met: boolean,
  liveWeight: number,
  cause: QuorumRecord['cause'],
): QuorumRecord {
  return {
    service: plan.name,
    met,
    liveWeight,
    quorum: plan.quorum,
    hysteresis: plan.quorumHysteresis,
    cause,
  };
}

function sorryRecord(plan: ServicePlan, active: boolean, cause: SorryRecord['cause']): SorryRecord {
  const sorry = plan.sorryServer as { address: string; port: number };
  return { service: plan.name, active, address: sorry.address, port: sorry.port, cause };
}

export function scoreRecord(components: readonly ComponentState[]): ApplianceHealthRecord {
  let total = 0;
  let healthy = 0;
  for (const c of components) {
    total += c.weight;
    if (c.healthy) healthy += c.weight;
  }
  return {
    score: total === 0 ? 100 : Math.round((100 * healthy) / total),
    components: components.map((c) => ({
      name: c.name,
      kind: c.kind,
      healthy: c.healthy,
      weight: c.weight,
      detail: c.detail,
    })),
  };
}

// ---- configure

const serverKey = (service: string, name: string, address: string, port: number): string =>
  `${service}\u0000${name}\u0000${address}\u0000${port}`;

function configure(d: Draft, plan: MonitorPlan): void {
  const old = {
    checks: d.currentChecks(),
    servers: d.servers,
    services: d.services,
    components: d.components,
  };
  const firstTime = d.plan === undefined;
  d.plan = plan;
  const oldServerByKey = new Map<string, number>();
  old.servers.forEach((s, i) => {
    oldServerByKey.set(serverKey(s.service, s.name, s.address, s.port), i);
  });
  const keptChecks = new Set<number>();
  const checks: CheckState[] = [];
  const servers: ServerState[] = [];
  const services: ServiceState[] = [];
  const components: ComponentState[] = [];
  const newServerRecords: { index: number; cause: RecordCause | undefined }[] = [];

  /** The old checks (by index) available for reuse, matched by kind and sameConfig. */
  const adopt = (candidates: readonly number[], plan: CheckPlan): CheckState | undefined => {
    for (const ci of candidates) {
      if (keptChecks.has(ci)) continue;
      const c = old.checks.at(ci) as CheckState;
      if (c.plan.kind.kind === plan.kind.kind && plan.kind.sameConfig(c.plan.spec, plan.spec)) {
        keptChecks.add(ci);
        return c;
      }
    }
    return undefined;
  };
  const fresh = (plan: CheckPlan, owner: Owner, target: CheckTarget, up: boolean): CheckState =>
    checkState(
      { plan, owner, target },
      up,
      0,
      0,
      d.now + d.random(plan.policy.jitterMs),
      undefined,
      up ? 'not probed yet' : 'starts down, not probed yet',
    );
  const carry = (was: CheckState, plan: CheckPlan, owner: Owner, target: CheckTarget): CheckState =>
    checkState(
      { plan, owner, target },
      was.up,
      was.okStreak,
      was.failStreak,
      // A shorter interval takes effect at once; a longer one from the next probe.
      Math.min(was.dueAt, d.now + plan.policy.intervalMs),
      was.probe,
      was.reason,
    );

  for (const svcPlan of plan.services) {
    const serverIndices: number[] = [];
    for (const srv of svcPlan.servers) {
      const index = servers.length;
      const owner: Owner = { type: 'server', index };
      const target: CheckTarget = {
        service: svcPlan.name,
        server: srv.name,
        address: srv.address,
        port: srv.port,
      };
      const oldIndex = oldServerByKey.get(serverKey(svcPlan.name, srv.name, srv.address, srv.port));
      const oldServer = oldIndex === undefined ? undefined : old.servers[oldIndex];
      const checkIndices: number[] = [];
      for (const cp of srv.checks) {
        const was = oldServer === undefined ? undefined : adopt(oldServer.checks, cp);
        checkIndices.push(checks.length);
        checks.push(was ? carry(was, cp, owner, target) : fresh(cp, owner, target, !svcPlan.startDown));
      }
      const draft: ServerState = {
        service: svcPlan.name,
        onFall: svcPlan.onFall,
        name: srv.name,
        address: srv.address,
        port: srv.port,
        weight: srv.weight,
        checks: checkIndices,
        up: oldServer?.up ?? true,
        reason: oldServer?.reason ?? '',
      };
      servers.push(draft);
      serverIndices.push(index);
      let cause: RecordCause | undefined;
      if (oldServer === undefined) cause = 'initial';
      else if (oldServer.weight !== srv.weight || oldServer.onFall !== svcPlan.onFall) cause = 'reconfigured';
      newServerRecords.push({ index, cause });
    }
    services.push({
      plan: svcPlan,
      servers: serverIndices,
      liveWeight: 0,
      upCount: 0,
      quorumMet: false,
      sorryActive: false,
    });
  }

  const oldComponents = new Map(old.components.map((c) => [c.name, c]));
  for (const link of plan.self.links) {
    const carrierUp = d.carriers.get(link.link);
    components.push({
      name: link.name,
      kind: 'link',
      weight: link.weight,
      link: link.link,
      check: undefined,
      healthy: carrierUp === true,
      detail: linkDetail(link.link, carrierUp),
    });
  }
  for (const cc of plan.self.checks) {
    const index = components.length;
    const owner: Owner = { type: 'component', index };
    const target: CheckTarget = { service: 'self', server: cc.name, address: cc.address, port: cc.port };
    const was = oldComponents.get(cc.name);
    const wasCheck = was?.check === undefined ? undefined : old.checks.at(was.check);
    const same =
      wasCheck !== undefined && wasCheck.target.address === cc.address && wasCheck.target.port === cc.port;
    const reused = same && wasCheck ? adopt([was?.check as number], cc.check) : undefined;
    const ci = checks.length;
    const state = reused ? carry(reused, cc.check, owner, target) : fresh(cc.check, owner, target, true);
    checks.push(state);
    components.push({
      name: cc.name,
      kind: cc.kind,
      weight: cc.weight,
      link: undefined,
      check: ci,
      healthy: state.up,
      detail: state.reason,
    });
  }

  // Probes of checks that did not survive the reload are aborted; their results will be stale.
  old.checks.forEach((c, i) => {
    if (!keptChecks.has(i) && c.probe !== undefined) d.actions.push({ type: 'abort', probe: c.probe.id });
  });
  // Removed servers.
  const newKeys = new Set(servers.map((s) => serverKey(s.service, s.name, s.address, s.port)));
  for (const s of old.servers) {
    if (!newKeys.has(serverKey(s.service, s.name, s.address, s.port))) {
      d.actions.push({ type: 'server-removed', service: s.service, server: s.name });
    }
  }

  d.replaceAll(checks, servers, services, components);
  // Servers: compute state from their checks, then report the new and changed ones.
  for (const { index, cause } of newServerRecords) {
    const s = d.servers[index] as ServerState;
    const next = serverFrom(d, s);
    d.setServer(index, next);
    if (cause !== undefined || next.up !== s.up) {
      d.actions.push({ type: 'server', record: serverRecord(next, cause ?? 'reconfigured') });
    }
  }
  // Services: quorum and sorry from scratch; report new ones, and changed ones as reconfigured.
  const oldServices = new Map(old.services.map((s) => [s.plan.name, s]));
  d.services.forEach((svc, si) => {
    const { liveWeight, upCount } = liveOf(d, svc.servers);
    const prev = oldServices.get(svc.plan.name);
    const quorumMet = prev
      ? quorumAfter(svc.plan, prev.quorumMet, liveWeight)
      : liveWeight >= svc.plan.quorum;
    const sorryActive = upCount === 0;
    d.setService(si, { ...svc, liveWeight, upCount, quorumMet, sorryActive });
    if (svc.plan.quorum > 0) {
      const changedQuorum =
        !prev ||
        prev.plan.quorum === 0 ||
        prev.quorumMet !== quorumMet ||
        prev.plan.quorum !== svc.plan.quorum ||
        prev.plan.quorumHysteresis !== svc.plan.quorumHysteresis;
      if (changedQuorum) {
        d.actions.push({
          type: 'quorum',
          record: quorumRecord(svc.plan, quorumMet, liveWeight, prev ? 'reconfigured' : 'initial'),
        });
      }
    }
    const sorry = svc.plan.sorryServer;
    if (sorry !== undefined) {
      const was = prev?.plan.sorryServer;
      const changedSorry =
        !prev ||
        was === undefined ||
        was.address !== sorry.address ||
        was.port !== sorry.port ||
        prev.sorryActive !== sorryActive;
      if (changedSorry)
        d.actions.push({
          type: 'sorry',
          record: sorryRecord(svc.plan, sorryActive, prev ? 'reconfigured' : 'initial'),
        });
    }
  });
  const record = scoreRecord(d.components);
  const componentsChanged =
    firstTime ||
    old.components.length !== d.components.length ||
    d.components.some((c, i) => {
      const o = old.components[i];
      return o === undefined || o.name !== c.name || o.weight !== c.weight || o.healthy !== c.healthy;
    });
  if (componentsChanged) d.actions.push({ type: 'score', record, initial: d.score === undefined });
  d.score = record.score;
}
