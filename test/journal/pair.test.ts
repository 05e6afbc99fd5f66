import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Journal, JournalAlarmCode } from '../../firmware/journal/api.ts';
import { JOURNAL_FILE } from '../../firmware/journal/recovery.ts';
import { rejects, withCode } from '../support/assert.ts';
import { replicatedState, startNode, until } from './support/pair.ts';
import { TmpDirs } from './support/tmp.ts';

/**
 * Two journals in this process replicating over loopback TCP (real sockets, real clock, bounded waits).
 * Node "a" dials, node "b" listens.
 */
const tmp = new TmpDirs();

interface Ctx {
  dirA: string;
  dirB: string;
  a: Journal;
  b: Journal;
  portB: number;
  logsA: string[];
  logsB: string[];
  alarmsA: JournalAlarmCode[];
}

async function startB(ctx: Ctx, extra = {}): Promise<Journal> {
  ctx.b = await startNode({ dir: ctx.dirB, node: 'b', listenPort: ctx.portB, logs: ctx.logsB, extra });
  return ctx.b;
}

async function startA(ctx: Ctx, extra = {}): Promise<Journal> {
  ctx.a = await startNode({ dir: ctx.dirA, node: 'a', peerPort: ctx.portB, logs: ctx.logsA, extra });
  ctx.a.on('alarm', (x) => ctx.alarmsA.push(x.code));
  return ctx.a;
}

const attached = (ctx: Ctx): boolean =>
  ctx.a.status().relation === 'source' && ctx.b.status().relation === 'follow';

const pair = suite<Ctx>('journal pair over loopback', {} as Ctx);

pair.before.each(async (ctx) => {
  ctx.dirA = tmp.make('ja');
  ctx.dirB = tmp.make('jb');
  ctx.logsA = [];
  ctx.logsB = [];
  ctx.alarmsA = [];
  ctx.portB = 0;
  await startB(ctx);
  ctx.portB = ctx.b.address()?.port ?? 0;
  await startA(ctx);
  await ctx.a.promote(1);
  await until('the pair to attach', () => attached(ctx));
});

pair.after.each(async (ctx) => {
  await ctx.a.close();
  await ctx.b.close();
});

pair.after(() => tmp.cleanup());

pair('writes replicate; a config commit returns once the follower acknowledged it', async (ctx) => {
  const { a, b } = ctx;
  for (let i = 0; i < 500; i++) void a.health.set(`rs${i}`, i % 2 ? 'up' : 'down');
  await a.sticky.set({ service: 'web', client: '192.0.2.10', server: 'rs1', ttlMs: 60_000 });
  const commit = await a.config.commit({ author: 'op', doc: { vip: '192.0.2.100' } });
  assert.is(commit.replication, 'acked');
  assert.ok(b.status().head >= commit.seq, 'acknowledged means the follower has it');
  await until('the follower to catch up', () => b.status().head === a.status().head);
  assert.equal(replicatedState(b), replicatedState(a));
  assert.is(b.sticky.get('web', '192.0.2.10')?.server, 'rs1');
  await rejects(b.health.set('rs1', 'up'), withCode('JOURNAL_NOT_LEADER'));
});

pair('with the follower gone a commit completes degraded and raises an alarm', async (ctx) => {
  await ctx.b.close();
  await until('the leader to notice', () => ctx.a.status().relation === 'none');
  const r = await ctx.a.config.commit({ author: 'op', doc: { x: 1 } });
  assert.is(r.replication, 'peer-down');
  assert.ok(ctx.alarmsA.includes('commit-unreplicated'));
  assert.is(ctx.a.config.running()?.version, 1, 'the commit is durable on the leader');
  await startB(ctx);
  await until('the follower to catch up', () => ctx.b.config.running()?.version === 1);
});

pair('a follower that restarts resumes from its last acknowledged seq, not from scratch', async (ctx) => {
  const { a } = ctx;
  for (let i = 0; i < 300; i++) void a.health.set(`rs${i}`, 'up');
  await a.replicated((await a.health.set('last', 'up')).seq);
  await ctx.b.close();
  await until('the leader to notice', () => a.status().relation === 'none');
  const shippedBefore = a.status().counters.entriesShipped;
  for (let i = 0; i < 50; i++)
    void a.events.append({ level: 'info', source: 'test', message: `while down ${i}` });
  await a.health.set('after', 'up');
  await startB(ctx);
  await until('the follower to catch up', () => ctx.b.status().head === a.status().head);
  const shipped = a.status().counters.entriesShipped - shippedBefore;
  assert.is(shipped, 51, 'exactly the entries written while it was away');
  assert.is(a.status().counters.snapshotsSent, 0);
  assert.equal(replicatedState(ctx.b), replicatedState(a));
});

pair('a follower behind the leader checkpoint is resynced by snapshot', async (ctx) => {
  await ctx.a.close();
  await startA(ctx, { checkpoint: { retainEntries: 10 } });
  await ctx.a.promote(2);
  await until('the pair to attach', () => attached(ctx));
  await ctx.b.close();
  for (let i = 0; i < 200; i++) void ctx.a.health.set(`rs${i}`, 'up');
  await ctx.a.health.set('last', 'up');
  ctx.a.checkpoint();
  await startB(ctx);
  await until('the snapshot resync', () => ctx.b.status().head === ctx.a.status().head, 10_000);
  assert.is(ctx.a.status().counters.snapshotsSent, 1);
  assert.is(ctx.b.status().counters.snapshotsInstalled, 1);
  assert.equal(replicatedState(ctx.b), replicatedState(ctx.a));
  assert.equal(ctx.b.conflicts(), []);
});

pair(
  'after a split brain the higher epoch wins and the loser keeps its entries as conflicts',
  async (ctx) => {
    const { a } = ctx;
    await a.replicated((await a.health.set('shared', 'up')).seq);
    // Cut b off: it restarts on another port that a does not dial, and the cluster promotes it.
    await ctx.b.close();
    const isolated = await startNode({ dir: ctx.dirB, node: 'b', logs: ctx.logsB });
    await isolated.promote(2);
    await isolated.health.set('b-only', 'down');
    await isolated.close();
    for (let i = 0; i < 5; i++) await a.health.set(`a-only-${i}`, 'up');
    const conflicts: number[] = [];
    a.on('conflict', (n) => conflicts.push(n));
    // The link heals: b comes back where a dials it, still leading (its epoch 3 > a's 1).
    await startB(ctx);
    await ctx.b.promote(3);
    await until('a to step down and resync', () => a.status().role === 'follower' && attached2(ctx), 10_000);
    await until('the logs to converge', () => a.status().head === ctx.b.status().head, 10_000);
    assert.equal(replicatedState(a), replicatedState(ctx.b));
    assert.is(a.health.get('a-only-0'), undefined);
    assert.is(a.health.get('b-only')?.state, 'down');
    const kept = a.conflicts();
    assert.equal(
      kept.map((c) => (c.kind === 'health.set' ? (c.value as { server: string }).server : c.kind)),
      ['a-only-0', 'a-only-1', 'a-only-2', 'a-only-3', 'a-only-4'],
    );
    assert.ok(kept.every((c) => c.epoch === 1 && c.winner === 'b' && c.winnerEpoch === 3));
    assert.equal(conflicts, [5]);
    assert.ok(ctx.alarmsA.includes('split-brain'));
    assert.ok(
      ctx.logsA.some((l) => /5 divergent entries kept in the conflict table/.test(l)),
      'reported in the log',
    );
  },
);

const attached2 = (ctx: Ctx): boolean =>
  ctx.b.status().relation === 'source' && ctx.a.status().relation === 'follow';

pair(
  'a corrupt follower file is kept aside and rebuilt from the peer; it cannot lead meanwhile',
  async (ctx) => {
    const { a } = ctx;
    for (let i = 0; i < 100; i++) void a.health.set(`rs${i}`, 'up');
    await a.replicated((await a.health.set('last', 'up')).seq);
    await ctx.b.close();
    const fd = openSync(join(ctx.dirB, JOURNAL_FILE), 'r+');
    writeSync(fd, Buffer.alloc(100, 0xa5), 0, 100, 0);
    closeSync(fd);
    await a.health.set('while-b-down', 'up');
    const b = await startNode({ dir: ctx.dirB, node: 'b', listenPort: ctx.portB, logs: ctx.logsB });
    ctx.b = b;
    assert.is(b.recovery.source, 'empty', 'no snapshot yet: empty, and it says so');
    assert.ok(b.recovery.corruptPath);
    assert.ok(ctx.logsB.some((l) => /journal file unusable/.test(l)));
    await rejects(b.promote(9), withCode('JOURNAL_RECOVERING'));
    await until(
      'the resync from the peer',
      () => !b.status().recovering && b.status().head === a.status().head,
      10_000,
    );
    assert.equal(replicatedState(b), replicatedState(a));
  },
);

pair.run();
