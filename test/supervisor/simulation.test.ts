/**
 * The supervisor core under random schedules: processes that start slowly, never get ready, crash before
 * or after ready, exit 2, ignore SIGTERM; operator restarts; shutdowns and starts again. After every step
 * the invariants are checked. A failure names its seed; `SUPERVISOR_SEED=<n>` replays one schedule.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initialState, nextDue, serviceOf, step } from '../../firmware/supervisor/policy.ts';
import type {
  Policy,
  ServiceSpec,
  SupervisorAction,
  SupervisorEvent,
  SupervisorState,
} from '../../firmware/supervisor/types.ts';
import { Rng } from '../../hal/sim/rng.ts';

const SPECS: ServiceSpec[] = [
  { name: 'cluster', critical: true, needs: [], escalation: 'stop-watchdog', stopTimeoutMs: 2000 },
  { name: 'forward', critical: true, needs: ['cluster'], escalation: 'step-down' },
  { name: 'monitor', critical: true, needs: ['cluster'], escalation: 'step-down' },
  { name: 'console', critical: false, needs: ['cluster'], escalation: 'none' },
  { name: 'panel', critical: false, needs: ['console'], escalation: 'none' },
];

const POLICY: Policy = {
  backoffInitialMs: 200,
  backoffMaxMs: 3200,
  stableMs: 4000,
  crashLimit: 5,
  crashWindowMs: 20_000,
  startTimeoutMs: 3000,
  stopTimeoutMs: 1000,
};

interface Proc {
  service: string;
  instance: number;
  ignoresTerm: boolean;
  alive: boolean;
}

class Violation extends Error {}

/** One schedule: a priority queue of timed events around the core, with invariant checks. */
function runSchedule(seed: number): { steps: number; spawns: number; failed: number } {
  const rng = new Rng(seed);
  let state: SupervisorState = initialState(SPECS, POLICY);
  let now = 0;
  const queue: { at: number; seq: number; event: SupervisorEvent | { type: 'op' } }[] = [];
  let seq = 0;
  const at = (t: number, event: SupervisorEvent | { type: 'op' }): void => {
    queue.push({ at: t, seq: seq++, event });
    queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
  };
  const procs = new Map<number, Proc>();
  const live = (service: string): Proc[] =>
    [...procs.values()].filter((p) => p.service === service && p.alive);
  /** Crash times since the last reset (start, operator restart), as the world saw them. */
  const crashes = new Map<string, number[]>();
  const lastDelay = new Map<string, number>();
  const resetSince = new Map<string, boolean>();
  let spawns = 0;
  let steps = 0;
  let shutdownAt: number | undefined;
  const fail = (msg: string): never => {
    throw new Violation(`seed ${seed} at ${now} ms: ${msg}`);
  };

  /** A process exits once and prints nothing after: later scheduled fates of a dead one never happen. */
  const deadProcessEvent = (ev: SupervisorEvent): boolean =>
    (ev.type === 'exited' || ev.type === 'ready') && procs.get(ev.instance)?.alive === false;

  const exitLater = (p: Proc, delay: number, code: number | null, signal: string | null): void => {
    at(now + delay, { type: 'exited', service: p.service, instance: p.instance, code, signal });
  };

  const perform = (a: SupervisorAction): void => {
    const spec = SPECS.find((s) => 'service' in a && s.name === a.service);
    switch (a.type) {
      case 'spawn': {
        if (state.mode !== 'up') fail(`spawned ${a.service} while ${state.mode}`);
        if (live(a.service).length > 0) fail(`second instance of ${a.service}`);
        for (const need of spec?.needs ?? []) {
          if (serviceOf(state, need).phase !== 'running')
            fail(`${a.service} started before ${need} was ready`);
          if (live(need).length !== 1) fail(`${a.service} started while ${need} has no process`);
        }
        spawns++;
        const p: Proc = {
          service: a.service,
          instance: a.instance,
          ignoresTerm: rng.chance(0.15),
          alive: true,
        };
        procs.set(a.instance, p);
        at(now + rng.int(1, 20), {
          type: 'spawned',
          service: a.service,
          instance: a.instance,
          pid: 1000 + a.instance,
        });
        const fate = rng.float();
        if (fate < 0.08) return; // never ready (the start timeout kills it)
        if (fate < 0.16) {
          exitLater(p, rng.int(10, 1500), rng.chance(0.1) ? 2 : 1, null);
          return;
        }
        at(now + rng.int(20, 2500), { type: 'ready', service: a.service, instance: a.instance });
        if (rng.chance(0.5)) exitLater(p, rng.int(100, 12_000), 1, null);
        return;
      }
      case 'signal': {
        const p = procs.get(a.instance);
        if (p === undefined || !p.alive)
          fail(`${a.signal} to ${a.service} instance ${a.instance}, which is not alive`);
        const s = serviceOf(state, a.service);
        if (s.instance !== a.instance) fail(`${a.signal} to an old instance of ${a.service}`);
        if (state.mode === 'stopping' && a.signal === 'SIGTERM') {
          for (const d of SPECS.filter((x) => x.needs.includes(a.service))) {
            if (live(d.name).length > 0) fail(`${a.service} stopped before its dependent ${d.name}`);
          }
        }
        if (a.signal === 'SIGKILL') exitLater(p as Proc, rng.int(1, 30), null, 'SIGKILL');
        else if (!(p as Proc).ignoresTerm) exitLater(p as Proc, rng.int(5, 800), 0, null);
        return;
      }
      case 'escalate':
        if (a.escalation === 'step-down')
          at(now + rng.int(10, 300), { type: 'escalated', service: a.service, ok: rng.chance(0.8) });
        return;
      default:
        return;
    }
  };

  const feed = (event: SupervisorEvent): void => {
    const before = state;
    if (event.type === 'exited') {
      const p = procs.get(event.instance);
      if (p === undefined || !p.alive) fail(`exit of a dead process ${event.instance}`);
      (p as Proc).alive = false;
    }
    const r = step(state, event, now);
    state = r.state;
    steps++;
    for (const a of r.actions) perform(a);
    checkTransitions(before, event);
  };

  const checkTransitions = (before: SupervisorState, event: SupervisorEvent): void => {
    for (const s of state.services) {
      const old = serviceOf(before, s.name);
      if (event.type === 'start' || (event.type === 'restart' && event.service === s.name)) {
        crashes.set(s.name, []);
        resetSince.set(s.name, true);
      }
      const crashed =
        (old.phase === 'starting' ||
          old.phase === 'running' ||
          (old.phase === 'stopping' && old.after === 'crash')) &&
        (s.phase === 'backoff' || s.phase === 'failed') &&
        old.instance === s.instance;
      if (!crashed) continue;
      const list = [...(crashes.get(s.name) ?? []).filter((t) => now - t < POLICY.crashWindowMs), now];
      crashes.set(s.name, list);
      if (list.length >= POLICY.crashLimit && s.phase !== 'failed')
        fail(`${s.name} crashed ${list.length} times within the window but is ${s.phase}`);
      if (s.phase === 'backoff') {
        if (s.delayMs < POLICY.backoffInitialMs || s.delayMs > POLICY.backoffMaxMs)
          fail(`${s.name} back-off ${s.delayMs} out of bounds`);
        const prev = lastDelay.get(s.name);
        const stable = old.readyAt !== undefined && now - old.readyAt >= POLICY.stableMs;
        if (prev !== undefined && s.delayMs < prev && !(stable || resetSince.get(s.name)))
          fail(`${s.name} back-off went down from ${prev} to ${s.delayMs} without a stable run`);
        if (prev !== undefined && s.delayMs > prev * 2)
          fail(`${s.name} back-off jumped from ${prev} to ${s.delayMs}`);
        if (s.dueAt !== now + s.delayMs) fail(`${s.name} due at ${s.dueAt}, not now + ${s.delayMs}`);
        lastDelay.set(s.name, s.delayMs);
        resetSince.set(s.name, false);
      }
    }
    for (const s of state.services) {
      const n = live(s.name).length;
      if (n > 1) fail(`${s.name} has ${n} processes`);
      const has = s.phase === 'starting' || s.phase === 'running' || s.phase === 'stopping';
      if (has !== (n === 1)) fail(`${s.name} is ${s.phase} with ${n} processes`);
    }
  };

  feed({ type: 'start' });
  const end = 90_000;
  for (let t = rng.int(500, 3000); t < end; t += rng.int(500, 8000)) at(t, { type: 'op' });
  for (;;) {
    const due = nextDue(state);
    const head = queue[0];
    if (head === undefined && due === undefined) break;
    if (due !== undefined && (head === undefined || due < head.at)) {
      now = Math.max(now, due);
      feed({ type: 'tick' });
      continue;
    }
    queue.shift();
    now = Math.max(now, (head as (typeof queue)[number]).at);
    const ev = (head as (typeof queue)[number]).event;
    if (ev.type !== 'op') {
      if (!deadProcessEvent(ev)) feed(ev);
      continue;
    }
    const r = rng.float();
    if (r < 0.5) {
      feed({ type: 'restart', service: (rng.pick(SPECS) as ServiceSpec).name });
    } else if (r < 0.65 && state.mode === 'up') {
      shutdownAt = now;
      feed({ type: 'shutdown' });
    } else if (state.mode === 'down') {
      shutdownAt = undefined;
      feed({ type: 'start' });
    }
    if (shutdownAt !== undefined && state.mode !== 'down') {
      // Stop timeouts in series plus the slowest exits: bounded.
      const bound = SPECS.length * (POLICY.stopTimeoutMs + 2000) + POLICY.startTimeoutMs;
      if (now - shutdownAt > bound) fail(`shutdown not finished after ${now - shutdownAt} ms`);
    }
  }
  // The end: one more shutdown must finish with nothing alive.
  if (state.mode !== 'down') {
    feed({ type: 'shutdown' });
    const mode = (): SupervisorState['mode'] => state.mode;
    for (let guard = 0; mode() !== 'down'; guard++) {
      if (guard > 10_000) fail('shutdown never finished');
      const due = nextDue(state);
      const head = queue.shift();
      if (head === undefined && due === undefined) fail(`stuck in ${state.mode}`);
      if (due !== undefined && (head === undefined || due < head.at)) {
        if (head) queue.unshift(head);
        now = Math.max(now, due);
        feed({ type: 'tick' });
      } else if (head && head.event.type !== 'op') {
        now = Math.max(now, head.at);
        if (!deadProcessEvent(head.event)) feed(head.event);
      }
    }
  }
  if ([...procs.values()].some((p) => p.alive)) fail('a process outlived the shutdown');
  return { steps, spawns, failed: state.services.filter((s) => s.phase === 'failed').length };
}

const sim = suite('seeded random schedules');

sim('invariants hold over many schedules', () => {
  const only = process.env.SUPERVISOR_SEED;
  const seeds = only === undefined ? Array.from({ length: 400 }, (_, i) => i + 1) : [Number(only)];
  let steps = 0;
  let spawns = 0;
  let failed = 0;
  for (const seed of seeds) {
    try {
      const r = runSchedule(seed);
      steps += r.steps;
      spawns += r.spawns;
      failed += r.failed;
    } catch (err) {
      if (err instanceof Violation) assert.unreachable(`${err.message} (replay: SUPERVISOR_SEED=${seed})`);
      throw err;
    }
  }
  assert.ok(spawns > seeds.length * 5, `the schedules did something (${spawns} spawns, ${steps} steps)`);
  if (only === undefined) assert.ok(failed > 0, 'some schedules reached escalation');
});

sim('a schedule replays exactly from its seed', () => {
  assert.equal(runSchedule(42), runSchedule(42));
});

sim.run();
