import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Journal } from '../../firmware/journal/api.ts';
import { diffConfig, formatDiff } from '../../firmware/journal/diff.ts';
import { JournalError } from '../../firmware/journal/errors.ts';
import type { FeedItem } from '../../firmware/journal/feed.ts';
import { startJournal } from '../../firmware/journal/service.ts';
import { SimClock } from '../../hal/clock/sim.ts';
import { rejects, withCode } from '../support/assert.ts';
import { TEST_KEY, TmpDirs } from './support/tmp.ts';

/** The typed journal API on one node (no peer attached), on virtual time. */
const tmp = new TmpDirs();

interface Ctx {
  clock: SimClock;
  journal: Journal;
}

async function single(options: { promote?: boolean; maxEvents?: number } = {}): Promise<Ctx> {
  const clock = new SimClock({ wallOriginMs: Date.UTC(2026, 0, 1) });
  const journal = await startJournal({
    dir: tmp.make(),
    node: 'a',
    peer: { node: 'b' },
    clusterKey: TEST_KEY,
    clock,
    log: () => {},
    ...(options.maxEvents ? { maxEvents: options.maxEvents } : {}),
  });
  if (options.promote ?? true) await journal.promote(1);
  return { clock, journal };
}

function hooks(s: ReturnType<typeof suite<Ctx>>): void {
  s.before.each(async (ctx) => {
    Object.assign(ctx, await single());
  });
  s.after.each(async (ctx) => {
    await ctx.journal.close();
  });
  s.after(() => tmp.cleanup());
}

// ---

const config = suite<Ctx>('journal API: versioned configuration', {} as Ctx);
hooks(config);

config('edit, commit, versions: each commit is a new numbered version', async ({ journal }) => {
  await journal.config.edit({ vip: '192.0.2.100', port: 80 }, { author: 'op' });
  assert.equal(journal.config.candidate()?.doc, { vip: '192.0.2.100', port: 80 });
  const first = await journal.config.commit({ author: 'op', comment: 'initial' });
  assert.is(first.version, 1);
  assert.is(first.replication, 'peer-down', 'no follower attached: durable here, reported degraded');
  assert.is(journal.config.candidate(), undefined, 'a commit from the candidate clears it');
  const second = await journal.config.commit({ author: 'auto', doc: { vip: '192.0.2.100', port: 8080 } });
  assert.is(second.version, 2);
  assert.equal(second.changes, [{ op: 'change', path: 'port', from: 80, to: 8080 }]);
  assert.equal(
    journal.config.versions().map((v) => [v.version, v.author, v.comment]),
    [
      [2, 'auto', ''],
      [1, 'op', 'initial'],
    ],
  );
  assert.is(journal.config.running()?.version, 2);
});

config('rollback commits an earlier document as a new version', async ({ journal }) => {
  await journal.config.commit({ author: 'op', doc: { a: 1 } });
  await journal.config.commit({ author: 'op', doc: { a: 2, b: true } });
  const r = await journal.config.rollback(1, { author: 'op' });
  assert.is(r.version, 3);
  assert.equal(journal.config.running()?.doc, { a: 1 });
  assert.is(journal.config.running()?.rollbackOf, 1);
  assert.equal(r.changes, [
    { op: 'change', path: 'a', from: 2, to: 1 },
    { op: 'remove', path: 'b', from: true },
  ]);
  await rejects(journal.config.rollback(9, { author: 'op' }), withCode('JOURNAL_NO_SUCH_VERSION'));
});

config('diff between versions, the candidate and the running configuration', async ({ journal }) => {
  await journal.config.commit({ author: 'op', doc: { services: [{ port: 80 }], name: 'x' } });
  await journal.config.edit({ services: [{ port: 80 }, { port: 443 }], name: 'y' }, { author: 'op' });
  assert.equal(journal.config.diff('running', 'candidate'), [
    { op: 'add', path: 'services[1]', to: { port: 443 } },
    { op: 'change', path: 'name', from: 'x', to: 'y' },
  ]);
  assert.equal(journal.config.diff(1, 'running'), []);
  assert.throws(
    () => journal.config.diff(7, 1),
    (e: unknown) => JournalError.is(e, 'JOURNAL_NO_SUCH_VERSION'),
  );
});

config(
  'commit conflicts and bad input are refused with typed errors that say what is wrong',
  async ({ journal }) => {
    await rejects(journal.config.commit({ author: 'op' }), withCode('JOURNAL_NO_CANDIDATE'));
    await journal.config.edit({ a: 1 }, { author: 'op' });
    await journal.config.commit({ author: 'other', doc: { a: 0 } });
    await rejects(journal.config.commit({ author: 'op' }), withCode('JOURNAL_VERSION_CONFLICT'));
    await rejects(
      journal.config.commit({ author: 'op', doc: { a: 2 }, expectVersion: 0 }),
      withCode('JOURNAL_VERSION_CONFLICT'),
    );
    const err = await rejects(
      journal.config.commit({ author: 'op', doc: { port: Number.NaN } }),
      withCode('JOURNAL_INVALID_ARGUMENT'),
    );
    assert.match(String(err), /config\.commit\.doc\.port should be a finite number/);
    await rejects(journal.config.edit([] as never, { author: 'op' }), withCode('JOURNAL_INVALID_ARGUMENT'));
    assert.is(journal.config.running()?.version, 1);
  },
);

config('the pure diff reports nested paths and formats one line per change', () => {
  const changes = diffConfig({ a: { b: [1, 2] }, 'odd key': 1 }, { a: { b: [1] }, c: null });
  assert.equal(changes, [
    { op: 'remove', path: 'a.b[1]', from: 2 },
    { op: 'remove', path: '["odd key"]', from: 1 },
    { op: 'add', path: 'c', to: null },
  ]);
  assert.equal(formatDiff(changes), ['- a.b[1] (was 2)', '- ["odd key"] (was 1)', '+ c = null']);
  assert.equal(diffConfig(1, 2), [{ op: 'change', path: '.', from: 1, to: 2 }]);
});

config.run();

// ---

const state = suite<Ctx>('journal API: health, persistence, cluster facts, events', {} as Ctx);
hooks(state);

state('health rows are set, replaced and deleted', async ({ journal }) => {
  await journal.health.set('rs1', 'up');
  await journal.health.set('rs2', 'down', 'connect refused');
  await journal.health.set('rs1', 'down', 'timeout');
  assert.equal(
    journal.health.all().map((h) => [h.server, h.state, h.detail]),
    [
      ['rs1', 'down', 'timeout'],
      ['rs2', 'down', 'connect refused'],
    ],
  );
  await journal.health.delete('rs2');
  assert.is(journal.health.get('rs2'), undefined);
  await rejects(journal.health.set('rs3', 'sideways' as never), withCode('JOURNAL_INVALID_ARGUMENT'));
});

state('sticky bindings expire on read at once and are swept by the leader', async ({ journal, clock }) => {
  await journal.sticky.set({ service: 'web', client: '198.51.100.7', server: 'rs1', ttlMs: 5_000 });
  await journal.sticky.set({ service: 'web', client: '198.51.100.8', server: 'rs2', ttlMs: 60_000 });
  assert.is(journal.sticky.get('web', '198.51.100.7')?.server, 'rs1');
  clock.advance(5_000);
  assert.is(journal.sticky.get('web', '198.51.100.7'), undefined, 'expired bindings are gone from reads');
  assert.is(journal.sticky.count(), 1);
  const head = journal.status().head;
  clock.advance(5_000);
  await SimClock.flush();
  const swept = journal.status().head;
  assert.is(swept, head + 1, 'the periodic sweep wrote one sticky.expire entry');
  assert.equal(
    journal.sticky.list('web').map((b) => b.client),
    ['198.51.100.8'],
  );
  await rejects(
    journal.sticky.set({ service: 'web', client: 'c', server: 's', ttlMs: 0 }),
    withCode('JOURNAL_INVALID_ARGUMENT'),
  );
});

state(
  'cluster facts: the epoch from promotion, roles and peers from the cluster service',
  async ({ journal }) => {
    await journal.cluster.setRole('a', 'active');
    await journal.cluster.setRole('b', 'standby');
    await journal.cluster.setPeer('b', { address: '203.0.113.2', state: 'up' });
    const facts = journal.cluster.facts();
    assert.is(facts.epoch, 1);
    assert.is(facts.leader, 'a');
    assert.equal(facts.roles, { a: 'active', b: 'standby' });
    assert.is(facts.peers.b?.address, '203.0.113.2');
  },
);

state('events form an audit log; the oldest are pruned at checkpoints past the cap', async () => {
  const { journal } = await single({ maxEvents: 3 });
  try {
    for (let i = 0; i < 5; i++) {
      await journal.events.append({ level: 'audit', source: 'console', message: `login ${i}`, data: { i } });
    }
    await journal.events.append({ level: 'info', source: 'monitor', message: 'rs1 up' });
    assert.equal(
      journal.events.list({ source: 'console' }).map((e) => e.message),
      ['login 0', 'login 1', 'login 2', 'login 3', 'login 4'],
    );
    journal.checkpoint();
    await new Promise((r) => setImmediate(r));
    assert.equal(
      journal.events.list().map((e) => e.message),
      ['login 3', 'login 4', 'rs1 up'],
    );
  } finally {
    await journal.close();
  }
});

state('a follower refuses local writes: it changes only by replication', async () => {
  const { journal } = await single({ promote: false });
  try {
    await rejects(journal.health.set('rs1', 'up'), withCode('JOURNAL_NOT_LEADER'));
    await rejects(journal.config.commit({ author: 'op', doc: {} }), withCode('JOURNAL_NOT_LEADER'));
    assert.is(journal.status().head, 0);
  } finally {
    await journal.close();
  }
});

state('promotion needs a new epoch; demotion stops writes', async ({ journal }) => {
  await rejects(journal.promote(1), withCode('JOURNAL_STALE_EPOCH'));
  await rejects(journal.promote(1.5), withCode('JOURNAL_INVALID_ARGUMENT'));
  const e = await journal.promote(5);
  assert.equal([e.kind, e.epoch], ['journal.epoch', 5]);
  journal.demote();
  await rejects(
    journal.events.append({ level: 'info', source: 't', message: 'm' }),
    withCode('JOURNAL_NOT_LEADER'),
  );
  assert.is(journal.status().role, 'follower');
});

state.run();

// ---

const feed = suite<Ctx>('journal API: the change feed', {} as Ctx);
hooks(feed);

feed(
  'subscribers get the backlog after their seq, then live entries, filtered by kind',
  async ({ journal }) => {
    await journal.health.set('rs1', 'up');
    const mark = journal.status().head;
    await journal.health.set('rs2', 'up');
    await journal.events.append({ level: 'info', source: 't', message: 'x' });
    const got: string[] = [];
    const sub = journal.subscribe(
      (item) => {
        if (item.type === 'entries') got.push(...item.entries.map((e) => `${e.seq}:${e.kind}`));
      },
      { afterSeq: mark, kinds: ['health.'] },
    );
    await new Promise((r) => setImmediate(r));
    await journal.health.set('rs3', 'down');
    await journal.sticky.set({ service: 's', client: 'c', server: 'rs1', ttlMs: 1000 });
    sub.close();
    await journal.health.set('rs4', 'down');
    assert.equal(got, [`${mark + 1}:health.set`, `${mark + 3}:health.set`]);
  },
);

feed('a subscriber behind the checkpoint gets a reset instead of a gap', async () => {
  const clock = new SimClock();
  const journal = await startJournal({
    dir: tmp.make(),
    node: 'a',
    peer: { node: 'b' },
    clusterKey: TEST_KEY,
    clock,
    log: () => {},
    checkpoint: { retainEntries: 2 },
  });
  try {
    await journal.promote(1);
    for (let i = 0; i < 10; i++) await journal.health.set(`rs${i}`, 'up');
    journal.checkpoint();
    const items: FeedItem[] = [];
    journal.subscribe((item) => items.push(item), { afterSeq: 1 });
    await new Promise((r) => setImmediate(r));
    assert.equal(items, [{ type: 'reset', head: 11, reason: 'behind-checkpoint' }]);
  } finally {
    await journal.close();
  }
});

feed('changes() is an async iterator that ends when its signal aborts', async ({ journal }) => {
  const ac = new AbortController();
  const seen: number[] = [];
  const done = (async () => {
    for await (const item of journal.changes({ afterSeq: 0, signal: ac.signal })) {
      if (item.type === 'entries') seen.push(...item.entries.map((e) => e.seq));
      if (seen.includes(3)) ac.abort();
    }
  })();
  await journal.health.set('rs1', 'up');
  await journal.health.set('rs2', 'up');
  await done;
  assert.equal(seen, [1, 2, 3]);
});

feed('an iterator ends when the journal closes; aborting the start signal closes the journal', async () => {
  const ac = new AbortController();
  const journal = await startJournal({
    dir: tmp.make(),
    node: 'a',
    peer: { node: 'b' },
    clusterKey: TEST_KEY,
    clock: new SimClock(),
    log: () => {},
    signal: ac.signal,
  });
  await journal.promote(1);
  const drained = (async () => {
    let n = 0;
    for await (const _ of journal.changes({ afterSeq: 0 })) n++;
    return n;
  })();
  await new Promise((r) => setImmediate(r));
  ac.abort();
  await new Promise((r) => setImmediate(r));
  assert.is(await drained, 1);
  await rejects(journal.health.set('rs1', 'up'), withCode('JOURNAL_CLOSED'));
  await journal.close();
  await rejects(
    startJournal({
      dir: tmp.make(),
      node: 'a',
      peer: { node: 'b' },
      clusterKey: TEST_KEY,
      clock: new SimClock(),
      signal: ac.signal,
    }),
    withCode('JOURNAL_CANCELED'),
  );
  await rejects(
    startJournal({
      dir: tmp.make(),
      node: 'a',
      peer: { node: 'a' },
      clusterKey: TEST_KEY,
      clock: new SimClock(),
    }),
    withCode('JOURNAL_INVALID_ARGUMENT'),
  );
});

feed.run();
