/**
 * The seeded simulation runner (tigerbeetle vopr): one seed → settings → a safety phase with faults →
 * heal everything → a liveness phase that must converge to exactly one ACTIVE within a budget and then
 * stay quiet. A failure says `seed=<n>`, and `--seed <n>` replays it with a trace.
 *
 *   npx tsx test/cluster/sim/runner.ts --seed 1234          replay one schedule, print settings and trace tail
 *   npx tsx test/cluster/sim/runner.ts --count 1000 [--from 5000]
 */
import { pathToFileURL } from 'node:url';
import { Checker, InvariantViolation } from './checker.ts';
import { cleanLink } from './network.ts';
import {
  describe,
  type Fault,
  makeSettings,
  type NodeIndex,
  type Settings,
  worstDelayMs,
} from './scenario.ts';
import { World, type WorldStats } from './world.ts';

export interface ScheduleResult {
  seed: number;
  ok: boolean;
  /** What failed: an invariant, a liveness timeout, or a throw from the core. */
  error: string | undefined;
  settings: Settings;
  stats: WorldStats;
  transitions: [number, number];
  gaps: number[];
  simulatedMs: number;
  /** Trace tail when run with `trace`. */
  trace: string[];
}

function applyFault(world: World, f: Fault): void {
  switch (f.kind) {
    case 'cut':
      world.cut(f.link, f.dir, f.carrier);
      return;
    case 'restore':
      world.restore(f.link);
      return;
    case 'crash':
      world.crash(f.node, f.downMs);
      return;
    case 'stall':
      world.stall(f.node, f.ms);
      return;
    case 'health':
      world.setHealth(f.node, f.score);
      return;
    case 'command':
      world.command(f.node, f.command);
      return;
    case 'ping':
      world.setPing(f.node, f.reachable);
      return;
    case 'fence-line':
      world.setFence(f.node, f.works);
  }
}

function heal(world: World): void {
  for (const [, link] of world.links) link.options = cleanLink(link.options.fifo, link.options.delayMinMs);
  for (const name of world.links.keys()) world.restore(name);
  for (const i of [0, 1] as const) {
    world.setPing(i, true);
    world.setFence(i, true);
    world.unstall(i);
    if (world.nodes[i].health !== 100) world.setHealth(i, 100);
    if (!world.nodes[i].up) world.start(i);
  }
}

/**
 * Exactly one ACTIVE holding the VIPs, one STANDBY, each having heard the other since world time
 * `since`, nothing pending.
 */
export function converged(world: World, since = 0): boolean {
  const [a, b] = world.nodes;
  if (!a.up || !b.up || a.state === undefined || b.state === undefined) return false;
  const [act, sb] = a.state.role === 'ACTIVE' ? [a, b] : [b, a];
  const as = act.state;
  const ss = sb.state;
  if (as === undefined || ss === undefined) return false;
  if (as.role !== 'ACTIVE' || ss.role !== 'STANDBY' || !act.vip || sb.vip) return false;
  if (!as.peerAlive || !ss.peerAlive || as.handover !== undefined || ss.wantActiveUntil !== undefined)
    return false;
  if (as.pending !== undefined || ss.pending !== undefined) return false;
  for (const n of [act, sb]) {
    const heard = Math.max(...(n.state?.links ?? []).map((l) => l.lastHeardAt ?? Number.NEGATIVE_INFINITY));
    if (heard < since + (world.settings.clockOffset[n.index] ?? 0)) return false;
  }
  const preempts = ss.config.preempt && ss.config.priority > as.config.priority;
  return !preempts;
}

function livenessBudget(s: Settings): number {
  const c = s.configs[0];
  const n = (v: number | undefined): number => v ?? 0;
  const preempt = s.configs.some((x) => x.preempt) ? n(c.preemptDelayMs) + n(c.handoverTimeoutMs) : 0;
  return (
    2 * n(c.initDeadMs) +
    6 * n(c.deadMs) +
    n(c.handoverTimeoutMs) +
    n(c.recheckMs) +
    2 * n(c.checkTimeoutMs) +
    s.restartMs.max +
    s.fenceLatencyMs.max +
    s.pingLatencyMs.max +
    preempt +
    20 * n(c.keepaliveMs)
  );
}

/**
 * Transitions one node may make in a schedule: a few to start, and a handful per fault, where a peer
 * declared dead while it was up (frame loss, stalls) counts as a fault too.
 */
export function transitionLimit(s: Settings, spuriousDeaths: number): number {
  return 6 + 5 * (s.faults.length + spuriousDeaths);
}

export function runSchedule(seed: number, options: { trace?: boolean } = {}): ScheduleResult {
  const settings = makeSettings(seed);
  const checker = new Checker(settings);
  const world = new World(settings, { observer: checker, trace: options.trace ?? false });
  let error: string | undefined;
  try {
    for (const i of [0, 1] as const) world.at(settings.startAt[i], () => world.start(i));
    for (const f of settings.faults) world.at(f.at, () => applyFault(world, f));
    world.run(settings.safetyMs);
    world.trace('--- heal: liveness phase');
    checker.clearWatch();
    heal(world);
    const healedAt = world.now;
    const deadline = world.now + livenessBudget(settings);
    const slice = settings.configs[0].deadMs ?? 50;
    // Converged must hold while every frame sent before it lands: a race on stale views (both nodes
    // leaving MAINTENANCE or FAULT at once) resolves within one frame each way.
    const settle = 2 * ((settings.configs[0].keepaliveMs ?? 20) + worstDelayMs(settings)) + 1;
    const isConverged = (): boolean => converged(world, healedAt);
    while (world.now < deadline) {
      for (const i of [0, 1] as NodeIndex[]) {
        if (world.nodes[i].state?.role === 'MAINTENANCE') world.command(i, 'maintenance-off');
      }
      if (isConverged()) {
        if (!world.runUntil(() => !isConverged(), settle)) break;
      } else {
        world.runUntil(isConverged, Math.min(slice, deadline - world.now));
      }
    }
    if (!isConverged()) {
      const roles = world.nodes.map(
        (n) => `${n.name}:${n.up ? n.state?.role : 'down'}${n.vip ? '+VIP' : ''}`,
      );
      throw new InvariantViolation(
        `liveness: not converged ${livenessBudget(settings)} ms after heal (${roles.join(' ')})`,
      );
    }
    world.trace('--- converged: quiet window');
    checker.frozen = true;
    const quiet = 4 * (settings.configs[0].deadMs ?? 50) + (settings.configs[0].recheckMs ?? 0);
    world.run(world.now + quiet);
    if (!converged(world)) throw new InvariantViolation('liveness: lost convergence in the quiet window');
    const limit = transitionLimit(settings, world.stats.spuriousDeaths);
    for (const n of world.nodes) {
      if (n.transitions > limit) {
        throw new InvariantViolation(
          `${n.name} made ${n.transitions} transitions, more than ${limit}: flapping`,
        );
      }
    }
  } catch (err) {
    error =
      err instanceof InvariantViolation
        ? err.message
        : err instanceof Error
          ? (err.stack ?? err.message)
          : String(err);
  }
  return {
    seed,
    ok: error === undefined,
    error,
    settings,
    stats: world.stats,
    transitions: [world.nodes[0].transitions, world.nodes[1].transitions],
    gaps: checker.gaps,
    simulatedMs: world.now,
    trace: world.traceTail(80),
  };
}

export interface Summary {
  runs: number;
  failures: ScheduleResult[];
  steps: number;
  simulatedMs: number;
  maxTransitions: number;
  maxTransitionRatio: number;
  takeovers: Record<string, number>;
  alarms: Record<string, number>;
  decodeErrors: Record<string, number>;
  gaps: number[];
}

/** Runs seeds from..from+count-1; keeps at most `keepFailures` failing results. */
export function runMany(from: number, count: number, keepFailures = 5): Summary {
  const sum: Summary = {
    runs: 0,
    failures: [],
    steps: 0,
    simulatedMs: 0,
    maxTransitions: 0,
    maxTransitionRatio: 0,
    takeovers: {},
    alarms: {},
    decodeErrors: {},
    gaps: [],
  };
  const add = (into: Record<string, number>, from: Record<string, number>): void => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  for (let seed = from; seed < from + count; seed++) {
    const r = runSchedule(seed >>> 0);
    sum.runs += 1;
    if (!r.ok && sum.failures.length < keepFailures) sum.failures.push(r);
    if (!r.ok && sum.failures.length >= keepFailures) continue;
    sum.steps += r.stats.steps;
    sum.simulatedMs += r.simulatedMs;
    const t = Math.max(...r.transitions);
    sum.maxTransitions = Math.max(sum.maxTransitions, t);
    sum.maxTransitionRatio = Math.max(
      sum.maxTransitionRatio,
      t / (1 + r.settings.faults.length + r.stats.spuriousDeaths),
    );
    add(sum.takeovers, r.stats.takeovers);
    add(sum.alarms, r.stats.alarms);
    add(sum.decodeErrors, r.stats.decodeErrors);
    sum.gaps.push(...r.gaps);
  }
  return sum;
}

/** The report for one failing seed: replays it with a trace. */
export function explain(seed: number): string {
  const r = runSchedule(seed, { trace: true });
  return [
    `seed=${seed} ${r.ok ? 'passed' : 'FAILED'}`,
    describe(r.settings),
    `result: ${r.ok ? 'ok' : r.error}`,
    `transitions A ${r.transitions[0]} B ${r.transitions[1]}, steps ${r.stats.steps}, simulated ${r.simulatedMs.toFixed(0)} ms`,
    `takeovers ${JSON.stringify(r.stats.takeovers)} alarms ${JSON.stringify(r.stats.alarms)}`,
    'trace tail:',
    ...r.trace,
    r.ok ? '' : `seed=${seed}`,
  ].join('\n');
}

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v)) throw new RangeError(`${name} needs an integer, got ${process.argv[i + 1]}`);
  return v;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const seed = arg('--seed');
  if (seed !== undefined) {
    console.log(explain(seed));
    process.exitCode = runSchedule(seed).ok ? 0 : 1;
  } else {
    const count = arg('--count') ?? 1000;
    const from = arg('--from') ?? 0;
    const started = performance.now();
    const s = runMany(from, count);
    const secs = (performance.now() - started) / 1000;
    console.log(
      `${s.runs} schedules from seed ${from} in ${secs.toFixed(1)} s: ${s.failures.length === 0 ? 'all passed' : `${s.failures.length}+ FAILED`}; ` +
        `${s.steps} steps, ${(s.simulatedMs / 1000).toFixed(0)} simulated s, max transitions ${s.maxTransitions}`,
    );
    console.log(`takeovers ${JSON.stringify(s.takeovers)}`);
    console.log(`alarms ${JSON.stringify(s.alarms)}`);
    console.log(`decode errors ${JSON.stringify(s.decodeErrors)}`);
    const g = [...s.gaps].sort((a, b) => a - b);
    const q = (p: number): string =>
      (g[Math.min(g.length - 1, Math.floor(p * g.length))] ?? Number.NaN).toFixed(1);
    console.log(`failovers checked ${g.length}: gap p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`);
    for (const f of s.failures) console.log(`seed=${f.seed}: ${f.error?.split('\n')[0]}`);
    process.exitCode = s.failures.length === 0 ? 0 : 1;
  }
}
