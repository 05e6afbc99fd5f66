import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canRun } from '../support/needs.ts';
import { startTestbed, type Testbed } from '../support/testbed.ts';
import { NodeProcess } from './support/proc.ts';
import { TEST_KEY, TmpDirs } from './support/tmp.ts';

/**
 * Two journal processes inside the testbed's appliance namespaces, replicating over the Ethernet heartbeat
 * link (veth hb0, 203.0.113.0/30): the cable is pulled and plugged back in.
 */
const PORT = 7411;
const keyHex = TEST_KEY.toString('hex');

type Status = { relation: string; head: number };

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

if (canRun('journal replication over the heartbeat link', { root: true, tools: ['ip', 'socat'] })) {
  const tmp = new TmpDirs();
  const ctx: { tb?: Testbed; a?: NodeProcess; b?: NodeProcess } = {};
  const hb = suite('journal over the testbed heartbeat link');

  hb.before(async () => {
    const tb = await startTestbed({ realServers: 1 });
    ctx.tb = tb;
    const { a, b } = tb.addresses;
    ctx.b = await NodeProcess.start(
      { dir: tmp.make('hb'), node: 'b', host: b.heartbeat, listenPort: PORT, keyHex },
      tb.ns('b'),
    );
    ctx.a = await NodeProcess.start(
      { dir: tmp.make('ha'), node: 'a', host: a.heartbeat, peerHost: b.heartbeat, peerPort: PORT, keyHex },
      tb.ns('a'),
    );
  });

  hb.after(async () => {
    await Promise.all([ctx.a?.stop(), ctx.b?.stop()]);
    await ctx.tb?.down();
    tmp.cleanup();
  });

  hb('entries and an acknowledged commit cross the heartbeat link', async () => {
    const { a, b } = ctx as Required<typeof ctx>;
    await a.call('promote', { epoch: 1 });
    await poll(
      'attachment',
      () => b.call('status') as Promise<Status>,
      (s) => s.relation === 'follow',
    );
    for (let i = 0; i < 20; i++) await a.call('health', { server: `rs${i}`, state: 'up' });
    const commit = (await a.call('commit', { doc: { vip: '192.0.2.100' } })) as { replication: string };
    assert.is(commit.replication, 'acked');
  });

  hb('with the cable pulled commits degrade; plugged back, the follower catches up', async () => {
    const { a, b, tb } = ctx as Required<typeof ctx>;
    await tb.exec('a', ['ip', 'link', 'set', 'hb0', 'down']);
    await poll(
      'the leader to notice',
      () => a.call('status') as Promise<Status>,
      (s) => s.relation === 'none',
    );
    const degraded = (await a.call('commit', { doc: { vip: '192.0.2.101' } })) as { replication: string };
    assert.is(degraded.replication, 'peer-down');
    for (let i = 0; i < 20; i++) await a.call('health', { server: `while-down${i}`, state: 'down' });
    await tb.exec('a', ['ip', 'link', 'set', 'hb0', 'up']);
    const state = await a.call('state');
    await poll(
      'the follower to catch up',
      () => b.call('state'),
      (s) => JSON.stringify(s) === JSON.stringify(state),
      15_000,
    );
  });

  hb.run();
}
