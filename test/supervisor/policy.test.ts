import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SupervisorError } from '../../firmware/supervisor/errors.ts';
import { dependencyOrder } from '../../firmware/supervisor/order.ts';
import {
  initialState,
  nextDue,
  publicPhase,
  serviceOf,
  step,
  watchdogVerdict,
} from '../../firmware/supervisor/policy.ts';
import type {
  ServiceSpec,
  SupervisorAction,
  SupervisorEvent,
  SupervisorState,
} from '../../firmware/supervisor/types.ts';

const SPECS: ServiceSpec[] = [
  { name: 'cluster', critical: true, needs: [], escalation: 'stop-watchdog' },
  { name: 'forward', critical: true, needs: ['cluster'], escalation: 'step-down' },
  { name: 'console', critical: false, needs: ['cluster'], escalation: 'none' },
];

/** A small driver for the core: feeds events, keeps the actions, knows which instance is current. */
class World {
  state: SupervisorState;
  now = 0;
  actions: SupervisorAction[] = [];
  pid = 100;

  constructor(specs: readonly ServiceSpec[] = SPECS, policy = {}) {
    this.state = initialState(specs, {
      backoffInitialMs: 200,
      backoffMaxMs: 1600,
      stableMs: 5000,
      crashLimit: 4,
      crashWindowMs: 60_000,
      startTimeoutMs: 3000,
      stopTimeoutMs: 1000,
      ...policy,
    });
  }

  send(event: SupervisorEvent): SupervisorAction[] {
    const r = step(this.state, event, this.now);
    this.state = r.state;
    this.actions.push(...r.actions);
    return [...r.actions];
  }

  at(ms: number): this {
    this.now = ms;
    this.send({ type: 'tick' });
    return this;
  }

  inst(name: string): number {
    return serviceOf(this.state, name).instance;
  }

  phase(name: string): string {
    return serviceOf(this.state, name).phase;
  }

  /** Spawned and ready. */
  up(name: string): void {
    this.send({ type: 'spawned', service: name, instance: this.inst(name), pid: this.pid++ });
    this.send({ type: 'ready', service: name, instance: this.inst(name) });
  }

  exit(name: string, code: number | null = 1, signal: string | null = null): SupervisorAction[] {
    return this.send({ type: 'exited', service: name, instance: this.inst(name), code, signal });
  }

  spawns(actions: readonly SupervisorAction[] = this.actions): string[] {
    return actions.flatMap((a) => (a.type === 'spawn' ? [a.service] : []));
  }
}

const order = suite('dependencyOrder');

order('needs come first; table order otherwise', () => {
  const specs: ServiceSpec[] = [
    { name: 'b', critical: false, needs: ['c'], escalation: 'none' },
    { name: 'a', critical: false, needs: [], escalation: 'none' },
    { name: 'c', critical: false, needs: ['a'], escalation: 'none' },
  ];
  assert.equal(
    dependencyOrder(specs).map((s) => s.name),
    ['a', 'c', 'b'],
  );
});

order('duplicates, unknown needs and cycles are refused by name', () => {
  const s = (name: string, needs: string[] = []): ServiceSpec => ({
    name,
    critical: false,
    needs,
    escalation: 'none',
  });
  assert.throws(() => dependencyOrder([s('a'), s('a')]), /a is listed twice/);
  assert.throws(() => dependencyOrder([s('a', ['zz'])]), /a needs zz/);
  assert.throws(() => dependencyOrder([s('a', ['b']), s('b', ['a'])]), /cycle: a -> b -> a/);
  assert.throws(
    () => dependencyOrder([s('a'), s('a')]),
    (e: unknown) => e instanceof SupervisorError,
  );
});

order.run();

// ---

const start = suite('start in dependency order');

start('the cluster first; dependents once it is ready', () => {
  const w = new World();
  assert.equal(w.spawns(w.send({ type: 'start' })), ['cluster']);
  w.send({ type: 'spawned', service: 'cluster', instance: w.inst('cluster'), pid: 7 });
  assert.is(serviceOf(w.state, 'cluster').pid, 7);
  assert.equal(w.spawns(w.send({ type: 'ready', service: 'cluster', instance: w.inst('cluster') })), [
    'forward',
    'console',
  ]);
  assert.is(publicPhase(serviceOf(w.state, 'forward')), 'starting');
  w.up('forward');
  const last = w.send({ type: 'ready', service: 'console', instance: w.inst('console') });
  assert.ok(last.some((a) => a.type === 'all-ready'));
  assert.is(w.state.mode, 'up');
});

start('a service not ready within its start timeout is killed and counted as a crash', () => {
  const w = new World();
  w.send({ type: 'start' });
  const acts = w.at(3000).actions.filter((a) => a.type === 'signal');
  assert.equal(acts, [{ type: 'signal', service: 'cluster', instance: 1, signal: 'SIGKILL' }]);
  assert.is(w.phase('cluster'), 'stopping');
  w.exit('cluster', null, 'SIGKILL');
  assert.is(w.phase('cluster'), 'backoff');
  assert.is(serviceOf(w.state, 'cluster').crashes.length, 1);
});

start('stale events of an old instance are ignored', () => {
  const w = new World();
  w.send({ type: 'start' });
  w.up('cluster');
  const old = w.inst('forward');
  w.exit('forward');
  w.at(200);
  assert.is(w.phase('forward'), 'starting');
  assert.equal(w.send({ type: 'exited', service: 'forward', instance: old, code: 1, signal: null }), []);
  assert.is(w.phase('forward'), 'starting');
});

start.run();

// ---

const backoff = suite('restart with back-off and escalation');

backoff('delays double up to the maximum; a stable run resets them', () => {
  const w = new World(SPECS, { crashLimit: 100 });
  w.send({ type: 'start' });
  w.up('cluster');
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    w.up('console');
    w.exit('console');
    const s = serviceOf(w.state, 'console');
    delays.push(s.delayMs);
    w.at((s.dueAt as number) - 1);
    assert.is(w.phase('console'), 'backoff', 'not before its due time');
    w.at(s.dueAt as number);
    assert.is(w.phase('console'), 'starting');
  }
  assert.equal(delays, [200, 400, 800, 1600, 1600, 1600]);
  w.up('console');
  w.at(w.now + 5000);
  w.exit('console');
  assert.is(serviceOf(w.state, 'console').delayMs, 200);
  assert.is(serviceOf(w.state, 'console').restarts, 6);
});

backoff('a critical service failing N times in the window escalates with step-down', () => {
  const w = new World();
  w.send({ type: 'start' });
  w.up('cluster');
  let acts: SupervisorAction[] = [];
  for (let i = 0; i < 4; i++) {
    w.up('forward');
    acts = w.exit('forward');
    if (w.phase('forward') === 'backoff') w.at(serviceOf(w.state, 'forward').dueAt as number);
  }
  assert.is(w.phase('forward'), 'failed');
  assert.ok(acts.some((a) => a.type === 'escalate' && a.escalation === 'step-down'));
  assert.match(serviceOf(w.state, 'forward').reason ?? '', '4 crashes within');
  assert.not.ok(watchdogVerdict(w.state).feed, 'not fed until the node stepped down');
  w.send({ type: 'escalated', service: 'forward', ok: true });
  assert.ok(watchdogVerdict(w.state).feed);
  // An operator's restart clears the history.
  w.send({ type: 'restart', service: 'forward' });
  assert.is(w.phase('forward'), 'starting');
  assert.is(serviceOf(w.state, 'forward').crashes.length, 0);
});

backoff('the cluster failing stops the watchdog; exit 2 is not retried', () => {
  const w = new World();
  w.send({ type: 'start' });
  assert.ok(watchdogVerdict(w.state).feed, 'fed during its first start');
  w.up('cluster');
  assert.ok(watchdogVerdict(w.state).feed);
  w.send({ type: 'probe', service: 'cluster', instance: w.inst('cluster'), ok: false });
  assert.equal(watchdogVerdict(w.state), { feed: false, reason: 'cluster does not answer' });
  w.exit('cluster');
  assert.equal(
    watchdogVerdict(w.state),
    { feed: false, reason: 'cluster is backoff' },
    'not while it restarts',
  );
  w.at(200);
  assert.not.ok(watchdogVerdict(w.state).feed, 'nor while it starts again after a crash');
  const acts = w.exit('cluster', 2);
  assert.is(w.phase('cluster'), 'failed');
  assert.ok(acts.some((a) => a.type === 'escalate' && a.escalation === 'stop-watchdog'));
  assert.not.ok(watchdogVerdict(w.state).feed);
});

backoff('a dependent crashing while its need restarts waits for the need', () => {
  const w = new World();
  w.send({ type: 'start' });
  w.up('cluster');
  w.up('forward');
  w.up('console');
  w.exit('cluster');
  w.exit('forward');
  w.at(200);
  assert.equal(w.phase('cluster'), 'starting');
  assert.equal(w.phase('forward'), 'waiting', 'its back-off is over but the cluster is not ready');
  assert.equal(nextDue(w.state), 3200, 'only the cluster start deadline is pending');
  w.up('cluster');
  assert.is(w.phase('forward'), 'starting');
});

backoff.run();

// ---

const stop = suite('ordered shutdown');

stop('reverse order: dependents first, the cluster last, SIGKILL after the stop timeout', () => {
  const w = new World();
  w.send({ type: 'start' });
  w.up('cluster');
  w.up('forward');
  w.up('console');
  const first = w.send({ type: 'shutdown' });
  assert.equal(
    first.filter((a) => a.type === 'signal').map((a) => a.type === 'signal' && `${a.service} ${a.signal}`),
    ['console SIGTERM', 'forward SIGTERM'],
  );
  w.exit('console', 0);
  assert.equal(w.phase('cluster'), 'running', 'the cluster waits for forward');
  w.at(1000);
  assert.ok(w.actions.some((a) => a.type === 'signal' && a.service === 'forward' && a.signal === 'SIGKILL'));
  const next = w.exit('forward', null, 'SIGKILL');
  assert.ok(next.some((a) => a.type === 'signal' && a.service === 'cluster' && a.signal === 'SIGTERM'));
  const end = w.exit('cluster', 0);
  assert.ok(end.some((a) => a.type === 'all-stopped'));
  assert.is(w.state.mode, 'down');
  assert.is(w.phase('cluster'), 'stopped');
});

stop('back-off and waiting services just stop; start again after down', () => {
  const w = new World();
  w.send({ type: 'start' });
  w.up('cluster');
  w.up('forward');
  w.exit('forward');
  w.send({ type: 'shutdown' });
  assert.is(w.phase('forward'), 'stopped');
  assert.is(w.phase('console'), 'stopping');
  w.exit('console', 0);
  w.exit('cluster', 0);
  assert.is(w.state.mode, 'down');
  assert.equal(w.spawns(w.send({ type: 'start' })), ['cluster']);
});

stop('restart is refused while stopping', () => {
  const w = new World();
  w.send({ type: 'start' });
  w.send({ type: 'shutdown' });
  const acts = w.send({ type: 'restart', service: 'cluster' });
  assert.ok(acts.some((a) => a.type === 'log' && a.msg.includes('restart ignored')));
});

stop.run();
