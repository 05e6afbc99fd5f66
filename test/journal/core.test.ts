import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Frame } from '../../firmware/journal/codec.ts';
import {
  type Action,
  type CoreConfig,
  type CoreState,
  DEFAULT_TIMING,
  type Event,
  initialState,
  nextDeadline,
  promotionBlocker,
  step,
} from '../../firmware/journal/core.ts';
import { agreementPoint, epochAt } from '../../firmware/journal/history.ts';
import type { EpochRecord } from '../../firmware/journal/types.ts';

/**
 * Unit tests of the replication core's rules, one scenario each, driving `step()` by hand: every frame a
 * core emits is handed to the other core; `apply` is answered with `applied` at once (a perfect store).
 */
const cfg = (self: string, peer: string, over: Partial<CoreConfig> = {}): CoreConfig => ({
  ...DEFAULT_TIMING,
  self,
  peer,
  batchEntries: 10,
  windowEntries: 100,
  resyncLagEntries: 1000,
  ...over,
});

interface Side {
  state: CoreState;
  actions: Action[];
}

const hist = (...r: [number, string, number][]): EpochRecord[] =>
  r.map(([epoch, leader, startSeq]) => ({ epoch, leader, startSeq }));

function node(
  self: string,
  peer: string,
  log: {
    role?: 'leader' | 'follower';
    head?: number;
    floor?: number;
    history?: EpochRecord[];
    epoch?: number;
    recovering?: boolean;
  },
  over: Partial<CoreConfig> = {},
): Side {
  const history = log.history ?? [];
  return {
    state: initialState(
      cfg(self, peer, over),
      {
        role: log.role ?? 'follower',
        epoch: log.epoch ?? 0,
        head: log.head ?? 0,
        floor: log.floor ?? 1,
        history,
        recovering: log.recovering ?? false,
      },
      0,
    ),
    actions: [],
  };
}

function feed(side: Side, ev: Event, now = side.state.now): Action[] {
  const r = step(side.state, ev, now);
  side.state = r.state;
  side.actions.push(...r.actions);
  return r.actions;
}

const sent = (actions: Action[]): Frame[] => actions.flatMap((a) => (a.type === 'send' ? [a.frame] : []));
const kinds = (actions: Action[]): string[] =>
  actions.map((a) => (a.type === 'send' ? `send:${a.frame.type}` : a.type));

/** Connects two cores on conn 1 and exchanges HELLO + STATUS; returns the actions produced after STATUS. */
function handshake(a: Side, b: Side): { a: Action[]; b: Action[] } {
  feed(a, { type: 'connected', conn: 1 });
  feed(b, { type: 'connected', conn: 1 });
  const hello = (s: Side): Frame => ({
    type: 'hello',
    epoch: s.state.epoch,
    seq: s.state.head,
    node: s.state.cfg.self,
    nonce: '0'.repeat(32),
  });
  const statusA = sent(feed(b, { type: 'frame', conn: 1, frame: hello(a) }));
  const statusB = sent(feed(a, { type: 'frame', conn: 1, frame: hello(b) }));
  const outA = feed(a, { type: 'frame', conn: 1, frame: statusA[0] as Frame });
  const outB = feed(b, { type: 'frame', conn: 1, frame: statusB[0] as Frame });
  return { a: outA, b: outB };
}

// ---

const relation = suite('core: the relation decided from both STATUS frames');

relation('a leader and a follower in agreement: the leader ships from the follower head', () => {
  const a = node('a', 'b', { role: 'leader', head: 30, history: hist([1, 'a', 1]) });
  const b = node('b', 'a', { head: 25, history: hist([1, 'a', 1]) });
  const out = handshake(a, b);
  assert.equal(
    out.b.map((x) => x.type),
    ['relation'],
  );
  const ship = out.a.filter((x) => x.type === 'ship');
  assert.equal(ship, [{ type: 'ship', conn: 1, from: 26, to: 30, prevSeq: 25, prevEpoch: 1 }]);
  assert.is(a.state.link.kind, 'log');
  assert.is(b.state.link.kind, 'follow');
});

relation('two leaders (healed split brain): the higher lead epoch wins, the loser steps down', () => {
  const a = node('a', 'b', { role: 'leader', head: 40, history: hist([1, 'a', 1]) });
  const b = node('b', 'a', { role: 'leader', head: 35, history: hist([1, 'a', 1], [2, 'b', 31]) });
  const out = handshake(a, b);
  const down = out.a.find((x) => x.type === 'stepDown');
  assert.equal(down, { type: 'stepDown', reason: 'split-brain', winner: 'b', epoch: 2 });
  assert.is(a.state.role, 'follower');
  assert.is(b.state.role, 'leader');
  assert.ok(out.a.some((x) => x.type === 'alarm' && x.code === 'split-brain'));
  // The loser's new STATUS makes the winner plan a snapshot: a's entries after 30 are divergent.
  const status = sent(out.a).find((f) => f.type === 'status') as Frame;
  const plan = feed(b, { type: 'frame', conn: 1, frame: status });
  assert.equal(
    plan.find((x) => x.type === 'sendSnapshot'),
    { type: 'sendSnapshot', conn: 1, conflictsAfter: 30 },
  );
});

relation('two leaders of the same epoch: the smaller node id wins', () => {
  const a = node('a', 'b', { role: 'leader', head: 5, history: hist([4, 'a', 1]) });
  const b = node('b', 'a', { role: 'leader', head: 5, history: hist([4, 'b', 1]) });
  handshake(a, b);
  assert.is(a.state.role, 'leader');
  assert.is(b.state.role, 'follower');
});

relation('epoch fencing: a follower that saw a newer epoch refuses an older leader, which steps down', () => {
  const a = node('a', 'b', { role: 'leader', head: 10, history: hist([3, 'a', 1]) });
  const b = node('b', 'a', { head: 10, history: hist([3, 'a', 1]), epoch: 5 });
  const out = handshake(a, b);
  assert.ok(sent(out.b).some((f) => f.type === 'refuse'));
  assert.is(b.state.counters.refused['stale-epoch'], 1);
  assert.is(b.state.link.kind, 'none');
  assert.equal(
    out.a.find((x) => x.type === 'stepDown'),
    { type: 'stepDown', reason: 'fenced', winner: 'b', epoch: 5 },
  );
  assert.is(a.state.epoch, 5, 'the fenced node adopts the newer epoch');
  assert.ok(out.a.some((x) => x.type === 'persistEpoch'));
});

relation('entries from an older epoch are refused after a takeover', () => {
  const b = node('b', 'a', { head: 10, history: hist([1, 'a', 1]) });
  const a = node('a', 'b', { role: 'leader', head: 10, history: hist([1, 'a', 1]) });
  handshake(a, b);
  // b learns of epoch 2 (another leader took over) while a still believes it leads epoch 1.
  b.state = { ...b.state, epoch: 2 };
  const before = b.state.head;
  const stale: Frame = { type: 'entries', epoch: 1, seq: 11, prevSeq: 10, prevEpoch: 1, entries: [] };
  const out = feed(b, { type: 'frame', conn: 1, frame: stale });
  assert.equal(out, []);
  assert.is(b.state.counters.refused['stale-epoch'], 1);
  assert.is(b.state.head, before);
});

relation.run();

// ---

const planning = suite('core: log or snapshot');

function planFor(leader: Parameters<typeof node>[2], follower: Parameters<typeof node>[2]): Action[] {
  const a = node('a', 'b', { role: 'leader', ...leader });
  const b = node('b', 'a', follower);
  return handshake(a, b).a;
}

planning('a follower behind the leader floor gets a snapshot', () => {
  const out = planFor(
    { head: 100, floor: 60, history: hist([1, 'a', 1]) },
    { head: 40, history: hist([1, 'a', 1]) },
  );
  assert.equal(
    out.find((x) => x.type === 'sendSnapshot'),
    { type: 'sendSnapshot', conn: 1, conflictsAfter: 40 },
  );
});

planning('a follower too far behind gets a snapshot even when the log has the entries', () => {
  const out = planFor({ head: 5000, history: hist([1, 'a', 1]) }, { head: 3, history: hist([1, 'a', 1]) });
  assert.ok(out.some((x) => x.type === 'sendSnapshot'));
});

planning('a recovering follower gets a snapshot', () => {
  const out = planFor(
    { head: 10, history: hist([1, 'a', 1]) },
    { head: 10, history: hist([1, 'a', 1]), recovering: true },
  );
  assert.ok(out.some((x) => x.type === 'sendSnapshot'));
});

planning('the agreement point follows the epoch histories', () => {
  const leader = { head: 50, history: hist([1, 'a', 1], [3, 'a', 31]) };
  assert.is(agreementPoint(leader, { head: 45, history: hist([1, 'a', 1], [2, 'b', 21]) }), 20);
  assert.is(agreementPoint(leader, { head: 30, history: hist([1, 'a', 1]) }), 30);
  assert.is(agreementPoint(leader, { head: 35, history: hist([1, 'a', 1]) }), 30);
  assert.is(agreementPoint(leader, { head: 0, history: [] }), 0);
  assert.is(agreementPoint(leader, { head: 9, history: hist([1, 'b', 1]) }), 0);
  assert.is(epochAt(leader.history, 31), 3);
  assert.is(epochAt(leader.history, 0), 0);
});

planning.run();

// ---

const flow = suite('core: entries, acknowledgements and commit waits');

function attached(): { a: Side; b: Side } {
  const a = node('a', 'b', { role: 'leader', head: 10, history: hist([1, 'a', 1]) });
  const b = node('b', 'a', { head: 10, history: hist([1, 'a', 1]) });
  handshake(a, b);
  return { a, b };
}

const entries = (from: number, to: number, epoch = 1): Frame => ({
  type: 'entries',
  epoch,
  seq: to,
  prevSeq: from - 1,
  prevEpoch: epoch,
  entries: Array.from({ length: to - from + 1 }, (_, i) => ({
    kind: 'health.set' as const,
    value: { server: `rs${from + i}`, state: 'up' as const, detail: '', since: 0 },
    seq: from + i,
    epoch,
    at: 0,
  })),
});

flow('the follower applies contiguous entries and acknowledges after they are applied', () => {
  const { b } = attached();
  const out = feed(b, { type: 'frame', conn: 1, frame: entries(11, 13) });
  assert.equal(kinds(out), ['apply']);
  const acks = feed(b, { type: 'applied', head: 13 });
  assert.equal(sent(acks), [{ type: 'ack', epoch: 1, seq: 13, gap: false, headEpoch: 1, headLeader: 'a' }]);
});

flow('a gap is reported once per head; duplicates are re-acknowledged, not re-applied', () => {
  const { b } = attached();
  const gap1 = sent(feed(b, { type: 'frame', conn: 1, frame: entries(15, 16) }));
  const gap2 = sent(feed(b, { type: 'frame', conn: 1, frame: entries(17, 18) }));
  assert.equal(
    gap1.map((f) => f.type === 'ack' && f.gap),
    [true],
  );
  assert.equal(gap2, []);
  const dup = feed(b, { type: 'frame', conn: 1, frame: entries(5, 10) });
  assert.equal(kinds(dup), ['send:ack']);
});

flow('entries continuing a different epoch at the head close the connection', () => {
  const { b } = attached();
  const bad: Frame = { ...entries(11, 11), prevEpoch: 7 } as Frame;
  const out = feed(b, { type: 'frame', conn: 1, frame: bad });
  assert.ok(out.some((x) => x.type === 'close'));
  assert.is(b.state.counters.refused.protocol, 1);
});

flow('a commit waits for the ack of its seq; without a follower it completes degraded at once', () => {
  const { a } = attached();
  feed(a, { type: 'appended', head: 12, history: a.state.history });
  assert.equal(feed(a, { type: 'awaitAck', id: 7, seq: 12 }), []);
  const done = feed(a, {
    type: 'frame',
    conn: 1,
    frame: { type: 'ack', epoch: 1, seq: 12, gap: false, headEpoch: 1, headLeader: 'a' },
  });
  assert.ok(done.some((x) => x.type === 'commitDone' && x.id === 7 && x.outcome === 'acked'));
  const lone = node('a', 'b', { role: 'leader', head: 3, history: hist([1, 'a', 1]) });
  assert.equal(feed(lone, { type: 'awaitAck', id: 1, seq: 3 }), [
    { type: 'commitDone', id: 1, outcome: 'peer-down' },
  ]);
  const follower = node('b', 'a', {});
  assert.equal(feed(follower, { type: 'awaitAck', id: 2, seq: 1 }), [
    { type: 'commitDone', id: 2, outcome: 'not-leader' },
  ]);
});

flow('an unanswered commit times out at its deadline with an alarm', () => {
  const { a } = attached();
  feed(a, { type: 'appended', head: 11, history: a.state.history });
  feed(a, { type: 'awaitAck', id: 1, seq: 11 });
  const deadline = a.state.cfg.ackTimeoutMs;
  assert.ok((nextDeadline(a.state) ?? Number.POSITIVE_INFINITY) <= deadline);
  feed(a, { type: 'frame', conn: 1, frame: { type: 'ping', epoch: 1, seq: 10 } }, deadline - 1);
  const out = feed(a, { type: 'tick' }, deadline);
  assert.ok(out.some((x) => x.type === 'commitDone' && x.outcome === 'timeout'));
  assert.ok(out.some((x) => x.type === 'alarm' && x.code === 'peer-ack-timeout'));
});

flow('an acknowledgement of an entry this log does not hold is ignored and counted', () => {
  const { a } = attached();
  feed(a, { type: 'appended', head: 12, history: a.state.history });
  feed(a, { type: 'awaitAck', id: 1, seq: 12 });
  const out = feed(a, {
    type: 'frame',
    conn: 1,
    frame: { type: 'ack', epoch: 1, seq: 12, gap: false, headEpoch: 2, headLeader: 'b' },
  });
  assert.not.ok(out.some((x) => x.type === 'commitDone'));
  assert.is(a.state.counters.refused['foreign-ack'], 1);
});

flow('unacknowledged entries are resent from the acknowledged head after rtoMs', () => {
  const { a } = attached();
  feed(a, { type: 'appended', head: 14, history: a.state.history });
  const rto = a.state.cfg.rtoMs;
  feed(a, { type: 'frame', conn: 1, frame: { type: 'ping', epoch: 1, seq: 10 } }, rto - 1);
  const out = feed(a, { type: 'tick' }, rto);
  assert.equal(
    out.filter((x) => x.type === 'ship'),
    [{ type: 'ship', conn: 1, from: 11, to: 14, prevSeq: 10, prevEpoch: 1 }],
  );
  assert.is(a.state.counters.retransmits, 1);
});

flow.run();

// ---

const hygiene = suite('core: connections, timers and purity');

hygiene('a silent peer is dropped after deadAfterMs; a keepalive STATUS goes out every pingEveryMs', () => {
  const { a } = attached();
  const ping = a.state.cfg.pingEveryMs;
  assert.is(nextDeadline(a.state), ping);
  const keep = feed(a, { type: 'tick' }, ping);
  assert.equal(
    sent(keep).map((f) => f.type),
    ['status'],
  );
  const dead = a.state.cfg.deadAfterMs;
  const out = feed(a, { type: 'tick' }, dead);
  assert.ok(out.some((x) => x.type === 'close'));
  assert.equal(a.state.conns, []);
  assert.is(a.state.link.kind, 'none');
});

hygiene('HELLO from this node itself or from a stranger is refused and the connection closed', () => {
  for (const [nodeId, reason] of [
    ['a', 'reflected'],
    ['mallory', 'unknown-node'],
  ] as const) {
    const a = node('a', 'b', { role: 'leader' });
    feed(a, { type: 'connected', conn: 4 });
    const out = feed(a, {
      type: 'frame',
      conn: 4,
      frame: { type: 'hello', epoch: 0, seq: 0, node: nodeId, nonce: '0'.repeat(32) },
    });
    assert.ok(out.some((x) => x.type === 'close'));
    assert.is(a.state.counters.refused[reason], 1);
  }
});

hygiene('frames before STATUS close the connection; a newer connection replaces the old one', () => {
  const { a, b } = attached();
  feed(b, { type: 'connected', conn: 2 });
  feed(b, {
    type: 'frame',
    conn: 2,
    frame: { type: 'hello', epoch: 1, seq: 10, node: 'a', nonce: '1'.repeat(32) },
  });
  const early = feed(b, { type: 'frame', conn: 2, frame: { type: 'ping', epoch: 1, seq: 10 } });
  assert.ok(early.some((x) => x.type === 'close' && x.conn === 2));
  feed(b, { type: 'connected', conn: 3 });
  feed(b, {
    type: 'frame',
    conn: 3,
    frame: { type: 'hello', epoch: 1, seq: 10, node: 'a', nonce: '2'.repeat(32) },
  });
  const status = sent(a.actions).find((f) => f.type === 'status') as Frame;
  const replaced = feed(b, { type: 'frame', conn: 3, frame: status });
  assert.ok(replaced.some((x) => x.type === 'close' && x.conn === 1));
  assert.is(b.state.active, 3);
});

hygiene('step never mutates its input state and refuses time going backwards', () => {
  const { a } = attached();
  const frozen = JSON.stringify(a.state);
  const before = a.state;
  step(before, { type: 'appended', head: 20, history: before.history }, 5);
  step(before, { type: 'tick' }, 10_000);
  assert.is(JSON.stringify(before), frozen);
  assert.throws(() => step(before, { type: 'tick' }, -1), RangeError);
});

hygiene('promotion needs an epoch newer than any seen, and no pending recovery unless forced', () => {
  const s = node('a', 'b', { epoch: 4, history: hist([4, 'b', 1]), recovering: true }).state;
  assert.match(promotionBlocker(s, 4) ?? '', /not newer/);
  assert.match(promotionBlocker(s, 5) ?? '', /snapshot/);
  assert.is(promotionBlocker(s, 5, true), undefined);
  assert.match(promotionBlocker(s, 2 ** 32) ?? '', /not 1\.\.2\^32-1/);
});

hygiene.run();
