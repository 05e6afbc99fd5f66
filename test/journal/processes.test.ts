import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeProcess } from './support/proc.ts';
import { TEST_KEY, TmpDirs } from './support/tmp.ts';

/** Two journal processes replicating over loopback TCP; one is killed and comes back. */
const tmp = new TmpDirs();
const keyHex = TEST_KEY.toString('hex');

interface Ctx {
  a: NodeProcess;
  b: NodeProcess;
  dirA: string;
  dirB: string;
}

type Status = { relation: string; head: number; role: string };

async function poll<T>(
  what: string,
  get: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const started = performance.now();
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (performance.now() - started > timeoutMs)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const status = (p: NodeProcess): Promise<Status> => p.call('status') as Promise<Status>;

const procs = suite<Ctx>('journal: two processes over loopback', {} as Ctx);

procs.before(async (ctx) => {
  ctx.dirA = tmp.make('pa');
  ctx.dirB = tmp.make('pb');
  ctx.b = await NodeProcess.start({ dir: ctx.dirB, node: 'b', keyHex });
  ctx.a = await NodeProcess.start({ dir: ctx.dirA, node: 'a', peerPort: ctx.b.port, keyHex });
});

procs.after(async (ctx) => {
  await Promise.all([ctx.a?.stop(), ctx.b?.stop()]);
  tmp.cleanup();
});

procs('the leader process replicates writes and commits to the follower process', async (ctx) => {
  await ctx.a.call('promote', { epoch: 1 });
  await poll(
    'attachment',
    () => status(ctx.b),
    (s) => s.relation === 'follow',
  );
  for (let i = 0; i < 50; i++) await ctx.a.call('health', { server: `rs${i}`, state: i % 3 ? 'up' : 'down' });
  const commit = (await ctx.a.call('commit', { doc: { vip: '192.0.2.100', port: 80 } })) as {
    replication: string;
  };
  assert.is(commit.replication, 'acked');
  const stateA = await ctx.a.call('state');
  await poll(
    'the follower to match',
    () => ctx.b.call('state'),
    (s) => JSON.stringify(s) === JSON.stringify(stateA),
  );
});

procs('a follower killed with SIGKILL restarts from its file and resumes', async (ctx) => {
  ctx.b.kill('SIGKILL');
  await ctx.b.exited;
  await poll(
    'the leader to notice',
    () => status(ctx.a),
    (s) => s.relation === 'none',
  );
  for (let i = 0; i < 20; i++) await ctx.a.call('health', { server: `later${i}`, state: 'up' });
  const port = ctx.b.port;
  ctx.b = await NodeProcess.start({ dir: ctx.dirB, node: 'b', listenPort: port, keyHex });
  assert.is(ctx.b.recovery.source, 'file');
  const stateA = await ctx.a.call('state');
  await poll(
    'the follower to catch up',
    () => ctx.b.call('state'),
    (s) => JSON.stringify(s) === JSON.stringify(stateA),
  );
  const counters = ((await ctx.a.call('status')) as { counters: { snapshotsSent: number } }).counters;
  assert.is(counters.snapshotsSent, 0, 'resumed from the log, no snapshot');
});

procs(
  'a leader killed with SIGKILL: the standby takes over in a new epoch, the old one follows',
  async (ctx) => {
    ctx.a.kill('SIGKILL');
    await ctx.a.exited;
    await ctx.b.call('promote', { epoch: 'next' });
    await ctx.b.call('health', { server: 'after-takeover', state: 'down' });
    ctx.a = await NodeProcess.start({ dir: ctx.dirA, node: 'a', peerPort: ctx.b.port, keyHex });
    assert.is(ctx.a.recovery.source, 'file');
    const stateB = await ctx.b.call('state');
    await poll(
      'the old leader to follow',
      () => ctx.a.call('state'),
      (s) => JSON.stringify(s) === JSON.stringify(stateB),
    );
    const a = await status(ctx.a);
    assert.is(a.role, 'follower');
    assert.is(a.relation, 'follow');
  },
);

procs.run();
