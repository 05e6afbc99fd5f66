import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterAction } from '../../firmware/cluster/types.ts';
import { A, B, Pair, testTimers } from './pair.ts';

const { deadMs, initDeadMs, keepaliveMs, preemptDelayMs, handoverTimeoutMs } = testTimers;

const sends = (actions: ClusterAction[]) => actions.flatMap((a) => (a.type === 'send' ? [a.hb] : []));

// ---

const start = suite('Pair: starting');

start('both start together: the higher priority wins the election at init-dead, not before', () => {
  const p = new Pair().start();
  p.run(initDeadMs - 1);
  assert.is(p.role(A), 'INIT');
  assert.is(p.role(B), 'INIT');
  p.until('A ACTIVE', () => p.role(A) === 'ACTIVE' && p.role(B) === 'STANDBY', 100);
  assert.ok(p.now >= initDeadMs);
  assert.equal(p.transitions(A), ['OFF→INIT(start)', 'INIT→ACTIVE(election)']);
  assert.equal(p.transitions(B), ['OFF→INIT(start)', 'INIT→STANDBY(peer-active)']);
  assert.is(p.state(A).epoch, 1);
});

start('equal priorities: the lower node id wins', () => {
  const p = new Pair({ a: { priority: 50 }, b: { priority: 50 } }).start();
  p.until('one ACTIVE', () => p.holds(A) || p.holds(B), 1000);
  assert.ok(p.holds(A), 'node id 1 beats node id 2');
});

start('a lone node waits for init-dead, then pings and fences before taking over', () => {
  const p = new Pair({ config: { fence: true } }).start(A);
  p.run(initDeadMs - 1);
  assert.is(p.role(A), 'INIT');
  p.until('A ACTIVE', () => p.holds(A), 100);
  const order = p.actions(A).filter((x) => ['ping-check', 'fence-peer', 'acquire'].includes(x.type));
  assert.equal(
    order.map((x) => x.type),
    ['ping-check', 'fence-peer', 'acquire'],
  );
  assert.equal(p.transitions(A), ['OFF→INIT(start)', 'INIT→ACTIVE(peer-fenced)']);
  assert.is(p.alarms(A, 'LINK_DOWN').length, 2, 'both links: nothing heard since start');
});

start('a node that starts while the peer is ACTIVE goes STANDBY at once', () => {
  const p = new Pair().start(A);
  p.until('A ACTIVE', () => p.holds(A), 1000);
  const t = p.now;
  p.start(B);
  p.until('B STANDBY', () => p.role(B) === 'STANDBY', 50);
  assert.ok(p.now - t < keepaliveMs + 10);
  p.run(initDeadMs * 2);
  assert.is(p.role(B), 'STANDBY');
  assert.ok(p.holds(A));
});

start.run();

// ---

const failure = suite('Pair: failures');

failure('standby takeover on silence: within dead time + link delay + ping + fence', () => {
  const p = new Pair({ config: { fence: true }, fenceMs: 5, pingMs: 1 }).settle();
  const t = p.now;
  p.world.crash(A);
  const gap = p.until('B ACTIVE', () => p.holds(B), 500);
  assert.ok(gap <= deadMs + 7 + 1 + 5 + 1, `gap ${gap}`);
  assert.ok(gap >= deadMs - keepaliveMs, `gap ${gap}`);
  const b = p.actions(B, t).map((x) => x.type);
  assert.ok(b.indexOf('fence-peer') < b.indexOf('persist-epoch'));
  assert.ok(b.indexOf('persist-epoch') < b.indexOf('acquire'));
  assert.is(p.state(B).epoch, 2);
  assert.equal(p.transitions(B, t), ['STANDBY→ACTIVE(peer-fenced)']);
});

failure('one link lost: alarms only, no transition; back again: LINK_UP', () => {
  const p = new Pair().settle();
  const t = p.now;
  p.world.cut('eth', 'both');
  p.run(deadMs * 3);
  assert.equal(p.transitions(A, t), []);
  assert.equal(p.transitions(B, t), []);
  for (const i of [A, B]) {
    assert.equal(
      p.alarms(i, undefined, t).map((x) => (x.type === 'alarm' ? `${x.code}/${x.link}` : '')),
      ['LINK_WARN/eth', 'LINK_DOWN/eth'],
    );
  }
  p.world.restore('eth');
  p.run(keepaliveMs * 2);
  assert.is(p.alarms(B, 'LINK_UP', t).length, 1);
  assert.ok(p.holds(A));
});

failure('carrier loss takes a link down at once', () => {
  const p = new Pair().settle();
  const t = p.now;
  p.world.cut('eth', 'both', true);
  p.run(1);
  assert.is(p.alarms(B, 'LINK_DOWN', t).length, 1);
  assert.is(p.state(B).links.find((l) => l.name === 'eth')?.status, 'down');
});

failure('replayed and stale frames are dropped and counted; the second copy still refreshes its link', () => {
  const p = new Pair().settle();
  const old = sends(p.actions(A)).at(-3);
  assert.ok(old !== undefined);
  if (old === undefined) return;
  const before = p.state(B).peer;
  p.world.inject(B, { type: 'frame', link: 'eth', hb: old });
  assert.is(p.state(B).drops.replayed, 1);
  assert.equal(p.state(B).peer, before);
  p.world.crash(A);
  p.world.start(A);
  p.until('B hears the new boot', () => p.state(B).peer?.boot === 2, 100);
  p.world.inject(B, { type: 'frame', link: 'serial', hb: { ...old, seq: old.seq + 1000 } });
  assert.is(p.state(B).drops.stale, 1);
  assert.is(p.alarms(B, 'PEER_RESTARTED').length, 1);
});

failure('an unhealthy active hands over and goes FAULT; recovered, it is STANDBY', () => {
  const p = new Pair().settle();
  const t = p.now;
  p.health(A, 10);
  p.until('B ACTIVE', () => p.holds(B) && !p.holds(A), 200);
  assert.equal(p.transitions(A, t), ['ACTIVE→FAULT(handed-over)']);
  assert.equal(p.transitions(B, t), ['STANDBY→ACTIVE(handover)']);
  p.health(A, 100);
  p.run(1);
  assert.is(p.role(A), 'STANDBY');
});

failure('an unhealthy active with no standby keeps the VIPs', () => {
  const p = new Pair().start(A);
  p.until('A ACTIVE', () => p.holds(A), 1000);
  p.health(A, 10);
  p.run(500);
  assert.ok(p.holds(A));
});

failure('an isolated active (links and ping node gone) releases and goes FAULT until links return', () => {
  const p = new Pair().settle();
  const t = p.now;
  p.world.setPing(A, false);
  p.world.cut('eth', 'both');
  p.world.cut('serial', 'both');
  p.until('A released', () => !p.holds(A), 500);
  assert.equal(p.transitions(A, t), ['ACTIVE→FAULT(isolated)']);
  assert.is(p.alarms(A, 'ISOLATED', t).length, 1);
  p.until('B ACTIVE', () => p.holds(B), 500);
  p.world.restore('eth');
  p.world.restore('serial');
  p.world.setPing(A, true);
  p.until('A STANDBY', () => p.role(A) === 'STANDBY', 200);
  assert.ok(p.holds(B));
});

failure('a failed fence blocks the takeover and raises FENCE_FAILED', () => {
  const p = new Pair({ config: { fence: true } }).settle();
  const t = p.now;
  p.world.setFence(B, false);
  p.world.crash(A);
  p.run(deadMs * 3);
  assert.not.ok(p.holds(B));
  assert.ok(p.alarms(B, 'FENCE_FAILED', t).length >= 1);
  p.world.setFence(B, true);
  p.until('B ACTIVE after the retry', () => p.holds(B), testTimers.recheckMs + 100);
});

failure(
  'a stalled standby does not take over when it resumes; a stalled active is replaced and steps down',
  () => {
    // No ping node: nothing but rule 9 stands between the resumed standby and a false takeover.
    const p = new Pair({ config: { pingNode: false } }).settle();
    const t = p.now;
    p.world.stall(B, deadMs * 3);
    p.run(deadMs * 4);
    assert.equal(p.transitions(B, t), []);
    p.world.stall(A, deadMs * 3);
    p.until('B ACTIVE', () => p.holds(B), deadMs * 2);
    p.until('A released', () => !p.holds(A), deadMs * 3);
    assert.equal(p.transitions(A, t), ['ACTIVE→STANDBY(split-brain)']);
  },
);

failure.run();

// ---

const operate = suite('Pair: operator commands');

operate('manual failover: the peer takes over, the old active releases one frame later (no gap)', () => {
  const p = new Pair().settle();
  const t = p.now;
  p.command(A, 'failover');
  p.until('A released', () => !p.holds(A), 200);
  const acquired = p.firstAt(B, 'acquire', t);
  const released = p.firstAt(A, 'release', t);
  assert.ok(acquired !== undefined && released !== undefined);
  if (acquired === undefined || released === undefined) return;
  assert.ok(released >= acquired, 'the VIPs are never down');
  assert.ok(released - acquired <= 7, `overlap ${released - acquired} ms is about one frame`);
  assert.ok(acquired - t <= keepaliveMs + 7, 'the standby reacts to the yield flag at once');
  assert.equal(p.transitions(A, t), ['ACTIVE→STANDBY(handed-over)']);
  assert.equal(p.transitions(B, t), ['STANDBY→ACTIVE(handover)']);
  assert.is(p.alarms(A, 'SPLIT_BRAIN', t).length + p.alarms(B, 'SPLIT_BRAIN', t).length, 0);
});

operate('manual failover asked on the standby', () => {
  const p = new Pair().settle();
  p.command(B, 'failover');
  p.until('B ACTIVE', () => p.holds(B) && !p.holds(A), 200);
  assert.is(p.role(A), 'STANDBY');
});

operate('failover with no standby is rejected', () => {
  const p = new Pair().start(A);
  p.until('A ACTIVE', () => p.holds(A), 1000);
  p.command(A, 'failover');
  assert.is(p.world.stats.rejectedCommands, 1);
  assert.ok(p.holds(A));
});

operate('maintenance: the active hands over, never takes over while in maintenance, resumes after', () => {
  const p = new Pair().settle();
  p.command(A, 'maintenance-on');
  p.until('A MAINTENANCE', () => p.role(A) === 'MAINTENANCE', 200);
  assert.ok(p.holds(B));
  const t = p.now;
  p.world.crash(B);
  p.run(deadMs * 4);
  assert.is(p.role(A), 'MAINTENANCE');
  assert.is(p.alarms(A, 'PEER_DEAD', t).length, 1);
  p.command(A, 'maintenance-off');
  p.until('A ACTIVE', () => p.holds(A), 100);
});

operate('graceful leave: hand over, release, exit; the peer sees PEER_LEFT, not PEER_DEAD', () => {
  const p = new Pair().settle();
  const t = p.now;
  p.command(A, 'leave');
  p.until('A gone', () => p.role(A) === 'DOWN', 200);
  assert.ok(p.holds(B));
  const a = p.actions(A, t).map((x) => x.type);
  assert.equal(a.slice(-4), ['release', 'transition', 'send', 'exit']);
  p.run(deadMs * 3);
  assert.is(p.alarms(B, 'PEER_LEFT', t).length, 1);
  assert.is(p.alarms(B, 'PEER_DEAD', t).length, 0);
  assert.is(p.alarms(B, 'LINK_DOWN', t).length, 0);
});

operate('a leave with nobody to hand to releases and exits at once', () => {
  const p = new Pair().start(A);
  p.until('A ACTIVE', () => p.holds(A), 1000);
  p.command(A, 'leave');
  p.run(1);
  assert.is(p.role(A), 'DOWN');
  assert.not.ok(p.holds(A));
});

operate('a handover the peer never completes times out: HANDOVER_TIMEOUT, the active keeps the VIPs', () => {
  const p = new Pair().settle();
  const t = p.now;
  p.command(A, 'failover');
  p.command(B, 'maintenance-on');
  p.run(handoverTimeoutMs + 50);
  assert.ok(p.holds(A));
  assert.is(p.role(B), 'MAINTENANCE');
  assert.is(p.alarms(A, 'HANDOVER_TIMEOUT', t).length, 1);
  assert.equal(p.transitions(A, t), []);
});

operate('a handover is aborted when the peer restarts: a fresh node is not handed the VIPs', () => {
  const p = new Pair().settle();
  const t = p.now;
  p.world.cut('eth', 0);
  p.world.cut('serial', 0);
  p.command(A, 'maintenance-on');
  p.world.crash(B);
  p.world.start(B);
  p.run(5);
  p.world.restore('eth');
  p.world.restore('serial');
  p.run(handoverTimeoutMs);
  assert.is(p.alarms(A, 'HANDOVER_ABORTED', t).length, 1);
  assert.ok(p.holds(A));
  assert.is(p.role(A), 'ACTIVE');
});

operate.run();

// ---

const preempt = suite('Pair: preemption and split brain');

preempt('off by default: a returning higher-priority node stays STANDBY', () => {
  const p = new Pair().start(B);
  p.until('B ACTIVE', () => p.holds(B), 1000);
  p.start(A);
  p.run(preemptDelayMs * 3);
  assert.ok(p.holds(B));
  assert.is(p.role(A), 'STANDBY');
});

preempt('on: the higher-priority standby asks after the preempt delay; the active yields', () => {
  const p = new Pair({ config: { preempt: true } }).start(B);
  p.until('B ACTIVE', () => p.holds(B), 1000);
  p.start(A);
  p.until('A STANDBY', () => p.role(A) === 'STANDBY', 100);
  const t = p.now;
  p.run(preemptDelayMs - 5);
  assert.ok(p.holds(B), 'not before the delay');
  p.until('A ACTIVE', () => p.holds(A) && !p.holds(B), 100);
  assert.ok(p.now - t >= preemptDelayMs);
  assert.equal(p.transitions(B, t), ['ACTIVE→STANDBY(handed-over)']);
  p.run(preemptDelayMs * 2);
  assert.ok(p.holds(A), 'no ping-pong');
});

preempt('split brain heals: the higher epoch stays and re-announces, the other releases', () => {
  const p = new Pair().settle();
  const t = p.now;
  p.world.cut('eth', 'both');
  p.world.cut('serial', 'both');
  p.until('both ACTIVE', () => p.holds(A) && p.holds(B), deadMs * 3);
  assert.is(p.state(B).epoch, 2);
  const healAt = p.now;
  p.world.restore('eth');
  p.world.restore('serial');
  p.until('one ACTIVE', () => !p.holds(A), keepaliveMs * 3);
  assert.ok(p.holds(B));
  assert.equal(p.transitions(A, t), ['ACTIVE→STANDBY(split-brain)']);
  assert.ok(p.actions(B, healAt).some((x) => x.type === 'announce'));
  assert.is(p.alarms(A, 'SPLIT_BRAIN', healAt).length, 1);
  assert.is(p.alarms(B, 'SPLIT_BRAIN', healAt).length, 1);
  assert.is(p.state(A).epoch, 2);
});

preempt('a corrupted frame on the wire is rejected by the real codec and counted', () => {
  const p = new Pair({ links: { eth: { corrupt: 0.5 }, serial: { corrupt: 0.5 } } }).settle();
  p.run(500);
  const errors = p.world.stats.decodeErrors;
  assert.ok((errors['bad-crc'] ?? 0) > 5, JSON.stringify(errors));
  assert.ok(p.holds(A));
});

preempt.run();
