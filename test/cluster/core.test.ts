import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defaults, resolveConfig } from '../../firmware/cluster/config.ts';
import { initialState, nextDeadline, step } from '../../firmware/cluster/core.ts';
import { winsDualActive, winsElection } from '../../firmware/cluster/election.ts';
import {
  ClusterError,
  CommandRejectedError,
  ConfigError,
  ImpossibleEventError,
} from '../../firmware/cluster/errors.ts';
import type {
  ClusterAction,
  ClusterConfigInput,
  ClusterEvent,
  CoreState,
  Heartbeat,
} from '../../firmware/cluster/types.ts';

const cfg: ClusterConfigInput = {
  nodeId: 1,
  priority: 100,
  keepaliveMs: 20,
  warnMs: 50,
  deadMs: 80,
  initDeadMs: 200,
};

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Steps a sequence of (event, now) and returns the final state and every action. */
function drive(
  state: CoreState,
  events: [ClusterEvent, number][],
): { state: CoreState; actions: ClusterAction[] } {
  const actions: ClusterAction[] = [];
  let s = state;
  for (const [e, now] of events) {
    const r = step(s, e, now);
    actions.push(...r.actions);
    s = r.state;
  }
  return { state: s, actions };
}

const peerHb = (over: Partial<Heartbeat> = {}): Heartbeat => ({
  nodeId: 2,
  boot: 1,
  seq: 1,
  epoch: 0,
  role: 'INIT',
  priority: 100,
  health: 100,
  flags: { yield: false, leaving: false, wantActive: false },
  sentAt: 0,
  ...over,
});

const started = (over: Partial<ClusterConfigInput> = {}, epoch = 0): CoreState =>
  step(initialState({ ...cfg, ...over }, { boot: 1, now: 0, epoch }), { type: 'start' }, 0).state;

const is = (code: string) => (e: unknown) => ClusterError.is(e) && e.code === code;

// ---

const config = suite('resolveConfig');

config('fills in the defaults', () => {
  const c = resolveConfig({ nodeId: 7 });
  assert.is(c.keepaliveMs, defaults.keepaliveMs);
  assert.is(c.deadMs, defaults.deadMs);
  assert.is(c.preempt, false);
  assert.equal(c.links, ['serial', 'eth']);
});

config('a bad field is a ConfigError naming the field and the value', () => {
  const cases: [Partial<ClusterConfigInput> & Record<string, unknown>, string][] = [
    [{ nodeId: -1 }, 'nodeId'],
    [{ nodeId: 70000 }, 'nodeId'],
    [{ nodeId: 1, priority: 0 }, 'priority'],
    [{ nodeId: 1, priority: 256 }, 'priority'],
    [{ nodeId: 1, keepaliveMs: 0 }, 'keepaliveMs'],
    [{ nodeId: 1, keepaliveMs: 20, warnMs: 20 }, 'warnMs'],
    [{ nodeId: 1, warnMs: 50, deadMs: 50 }, 'deadMs'],
    [{ nodeId: 1, deadMs: 80, initDeadMs: 79 }, 'initDeadMs'],
    [{ nodeId: 1, minHealth: 101 }, 'minHealth'],
    [{ nodeId: 1, links: [] }, 'links'],
    [{ nodeId: 1, links: ['serial', 'serial'] }, 'links'],
    [{ nodeId: 1, preempt: 'yes' as unknown as boolean }, 'preempt'],
    [{ nodeId: 1, handoverTimeoutMs: 10 }, 'handoverTimeoutMs'],
    [{ nodeId: 1, deadtime: 5 }, 'deadtime'],
  ];
  for (const [input, field] of cases) {
    assert.throws(
      () => resolveConfig(input as ClusterConfigInput),
      (e: unknown) => e instanceof ConfigError && e.field === field && e.code === 'CLUSTER_INVALID_CONFIG',
      field,
    );
  }
  assert.throws(
    () => resolveConfig({ nodeId: 1, keepaliveMs: 20, warnMs: 10 }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /warnMs should be an integer from 21/.test(e.message) &&
      /got 10/.test(e.message),
  );
});

config.run();

// ---

const election = suite('election orders');

election('higher priority wins, then lower node id; two actives: higher epoch first', () => {
  assert.ok(winsElection({ nodeId: 9, priority: 200 }, { nodeId: 1, priority: 100 }));
  assert.ok(winsElection({ nodeId: 1, priority: 100 }, { nodeId: 9, priority: 100 }));
  assert.not.ok(winsElection({ nodeId: 9, priority: 100 }, { nodeId: 1, priority: 100 }));
  assert.ok(winsDualActive({ nodeId: 9, priority: 1, epoch: 5 }, { nodeId: 1, priority: 200, epoch: 4 }));
  assert.ok(winsDualActive({ nodeId: 1, priority: 200, epoch: 5 }, { nodeId: 9, priority: 1, epoch: 5 }));
});

election.run();

// ---

const api = suite('step / nextDeadline contract');

api('initialState is OFF with no timer; start goes INIT and sends at once', () => {
  const s0 = initialState(cfg, { boot: 3, now: 1000, epoch: 4 });
  assert.is(s0.role, 'OFF');
  assert.is(nextDeadline(s0), undefined);
  const { state, actions } = step(s0, { type: 'start' }, 1000);
  assert.is(state.role, 'INIT');
  assert.equal(actions[0], { type: 'transition', from: 'OFF', to: 'INIT', reason: 'start' });
  const send = actions[1];
  assert.ok(send?.type === 'send');
  if (send?.type === 'send') {
    assert.equal(send.links, ['serial', 'eth']);
    assert.equal([send.hb.role, send.hb.seq, send.hb.boot, send.hb.epoch], ['INIT', 1, 3, 4]);
  }
  assert.is(nextDeadline(state), 1020);
});

api('the state passed in is never changed', () => {
  let s = deepFreeze(started({ pingNode: false }));
  const events: [ClusterEvent, number][] = [
    [{ type: 'frame', link: 'eth', hb: peerHb() }, 5],
    [{ type: 'health', score: 90 }, 6],
    [{ type: 'tick' }, 20],
    [{ type: 'frame', link: 'serial', hb: peerHb({ seq: 2 }) }, 25],
    [{ type: 'carrier', link: 'eth', up: false }, 30],
    [{ type: 'tick' }, 200],
    [{ type: 'tick' }, 400],
  ];
  for (const [e, now] of events) s = deepFreeze(step(s, e, now).state);
  assert.is(s.role, 'ACTIVE');
});

api('time going backwards is CLUSTER_TIME_BACKWARDS', () => {
  const s = step(started(), { type: 'tick' }, 50).state;
  assert.throws(() => step(s, { type: 'tick' }, 49.9), is('CLUSTER_TIME_BACKWARDS'));
  assert.throws(() => step(s, { type: 'tick' }, Number.NaN), is('CLUSTER_INVALID_EVENT'));
});

api('an event the role has no transition for is an ImpossibleEventError naming role and event', () => {
  const off = initialState(cfg, { boot: 1, now: 0 });
  assert.throws(
    () => step(off, { type: 'tick' }, 1),
    (e: unknown) => e instanceof ImpossibleEventError && e.role === 'OFF' && e.event === 'tick',
  );
  const init = started();
  assert.throws(
    () => step(init, { type: 'start' }, 1),
    (e: unknown) => e instanceof ImpossibleEventError && e.role === 'INIT' && e.event === 'start',
  );
  assert.throws(
    () => step(init, { type: 'command', command: 'maintenance-off' }, 1),
    (e: unknown) => e instanceof ImpossibleEventError && e.event === 'command:maintenance-off',
  );
  assert.throws(
    () => step(init, { type: 'ping-result', id: 1, reachable: true }, 1),
    (e: unknown) => e instanceof ImpossibleEventError && /never asked/.test(e.message),
  );
  const stopped = step(init, { type: 'command', command: 'leave' }, 1).state;
  assert.is(stopped.role, 'STOPPED');
  assert.throws(
    () => step(stopped, { type: 'tick' }, 2),
    (e: unknown) => e instanceof ImpossibleEventError,
  );
});

api('malformed events are CLUSTER_INVALID_EVENT', () => {
  const s = started({ links: ['eth'] });
  assert.throws(
    () => step(s, { type: 'frame', link: 'serial', hb: peerHb() }, 1),
    is('CLUSTER_INVALID_EVENT'),
  );
  assert.throws(() => step(s, { type: 'health', score: 101 }, 1), is('CLUSTER_INVALID_EVENT'));
  const bogus = { type: 'command', command: 'reboot' } as unknown as ClusterEvent;
  assert.throws(() => step(s, bogus, 1), is('CLUSTER_INVALID_EVENT'));
});

api('a lone node waits for init-dead, then takes over: transition, persist-epoch, acquire, send', () => {
  const s = started({ pingNode: false, fence: false }, 6);
  assert.is(nextDeadline(s), 20);
  const early = drive(s, [
    [{ type: 'tick' }, 20],
    [{ type: 'tick' }, 199.9],
  ]);
  assert.is(early.state.role, 'INIT');
  const r = step(early.state, { type: 'tick' }, 200);
  const types = r.actions.map((a) => a.type);
  assert.equal(types.slice(types.indexOf('transition')), ['transition', 'persist-epoch', 'acquire', 'send']);
  assert.ok(r.actions.some((a) => a.type === 'acquire' && a.epoch === 7));
  assert.is(r.state.role, 'ACTIVE');
});

api('with a ping node and a fence line the lone node checks both first', () => {
  const s = started({ pingNode: true, fence: true });
  const atDead = step(s, { type: 'tick' }, 200);
  const ping = atDead.actions.find((a) => a.type === 'ping-check');
  assert.ok(ping?.type === 'ping-check');
  assert.is(nextDeadline(atDead.state), 220);
  const afterPing = step(
    atDead.state,
    { type: 'ping-result', id: ping?.type === 'ping-check' ? ping.id : 0, reachable: true },
    201,
  );
  const fence = afterPing.actions.find((a) => a.type === 'fence-peer');
  assert.ok(fence?.type === 'fence-peer');
  assert.is(afterPing.state.role, 'INIT');
  const done = step(
    afterPing.state,
    { type: 'fence-result', id: fence?.type === 'fence-peer' ? fence.id : 0, ok: true },
    210,
  );
  assert.is(done.state.role, 'ACTIVE');
  const late = step(done.state, { type: 'fence-result', id: 1, ok: true }, 211);
  assert.is(late.state.drops.lateResults, 1);
});

api('a failover with nobody to hand over to is a CommandRejectedError', () => {
  const active = step(started({ pingNode: false }), { type: 'tick' }, 200).state;
  assert.is(active.role, 'ACTIVE');
  assert.throws(
    () => step(active, { type: 'command', command: 'failover' }, 201),
    (e: unknown) => e instanceof CommandRejectedError && e.command === 'failover' && e.role === 'ACTIVE',
  );
});

api('frames: own id is a conflict, replays and older boots are dropped and counted', () => {
  let s = started();
  s = step(s, { type: 'frame', link: 'eth', hb: peerHb({ nodeId: 1 }) }, 1).state;
  s = step(s, { type: 'frame', link: 'eth', hb: peerHb({ nodeId: 1 }) }, 2).state;
  assert.is(s.drops.ownId, 2);
  assert.is(s.peer, undefined);
  s = step(s, { type: 'frame', link: 'eth', hb: peerHb({ boot: 5, seq: 10 }) }, 3).state;
  s = step(s, { type: 'frame', link: 'eth', hb: peerHb({ boot: 5, seq: 10 }) }, 4).state;
  s = step(s, { type: 'frame', link: 'eth', hb: peerHb({ boot: 5, seq: 9 }) }, 5).state;
  assert.is(s.drops.replayed, 2);
  s = step(s, { type: 'frame', link: 'eth', hb: peerHb({ boot: 4, seq: 99 }) }, 6).state;
  assert.is(s.drops.stale, 1);
  // The same frame on the other link refreshes that link only.
  const r = step(s, { type: 'frame', link: 'serial', hb: peerHb({ boot: 5, seq: 10 }) }, 7);
  assert.is(r.state.drops.replayed, 2);
  assert.is(r.state.links.find((l) => l.name === 'serial')?.lastHeardAt, 7);
  assert.is(r.state.peer?.heardAt, 3);
});

api('after a stall, silence is not judged until the node has been awake a while (rule 9)', () => {
  let s = started({ pingNode: false });
  s = step(s, { type: 'frame', link: 'eth', hb: peerHb({ role: 'ACTIVE', epoch: 1 }) }, 10).state;
  s = step(s, { type: 'frame', link: 'serial', hb: peerHb({ role: 'ACTIVE', epoch: 1 }) }, 10).state;
  assert.is(s.role, 'STANDBY');
  // Not stepped for 300 ms: the peer's frames may be queued behind this tick.
  const r = step(s, { type: 'tick' }, 310);
  assert.is(r.state.role, 'STANDBY');
  assert.ok(r.state.peerAlive);
  assert.is(nextDeadline(r.state), 330);
  const later = step(r.state, { type: 'tick' }, 350);
  assert.is(later.state.role, 'ACTIVE');
});

api.run();
