import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterStatus } from '../../../firmware/cluster/service.ts';
import { canRun } from '../../support/needs.ts';
import { startTestbed, type Testbed } from '../../support/testbed.ts';
import {
  bundleMain,
  ClusterProcess,
  cableAtRealtime,
  clientReaches,
  cutSerial,
  holders,
  loudly,
  type NodeOptions,
  onlyOn,
  prepareVipService,
  repair,
  waitFor,
  withLogs,
  writeNodeConfig,
} from './support.ts';

/**
 * Cutting the heartbeat cables between A (ACTIVE) and B (STANDBY): one cable is an alarm and never a
 * failover; both cables without a ping node is a split brain, healed by the epoch rule when the cables
 * come back; both cables plus the active's uplink, with the client as ping node, makes the isolated
 * active step down while the standby takes over.
 */

type Node = 'a' | 'b';

if (canRun('cluster partitions on the testbed', { root: true, tools: ['ip', 'socat', 'nft', 'arping'] })) {
  const ctx: {
    tb?: Testbed;
    dir?: string;
    main?: Awaited<ReturnType<typeof bundleMain>>;
    procs: Partial<Record<Node, ClusterProcess>>;
  } = { procs: {} };
  const tb = (): Testbed => ctx.tb as Testbed;
  const proc = (n: Node): ClusterProcess => ctx.procs[n] as ClusterProcess;
  const logged = () => [ctx.procs.a, ctx.procs.b];

  async function startPair(o: NodeOptions = {}): Promise<void> {
    await Promise.all(Object.values(ctx.procs).map((p) => p?.stop('SIGKILL')));
    await repair(tb());
    // A first, so it is the ACTIVE whatever each start costs on a loaded host.
    for (const n of ['a', 'b'] as const) {
      const config = writeNodeConfig(tb(), ctx.dir as string, n, o);
      ctx.procs[n] = await ClusterProcess.start(tb(), n, config, ctx.main as { argv: string[] });
      if (n === 'a') await proc('a').waitForRole('ACTIVE', 5000);
    }
    await proc('b').waitForRole('STANDBY', 5000);
    await waitFor(
      'both links up on both',
      () => linksUp(),
      (v) => v,
      3000,
    );
  }

  async function linksUp(): Promise<boolean> {
    const [a, b] = await Promise.all([proc('a').status(), proc('b').status()]);
    return [...a.links, ...b.links].every((l) => l.status === 'up');
  }

  const link = (s: ClusterStatus, name: 'serial' | 'eth') => s.links.find((l) => l.name === name);
  const alarms = (s: ClusterStatus, code: keyof ClusterStatus['alarms']): number => s.alarms[code] ?? 0;
  const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  async function noFailover(): Promise<void> {
    assert.is(await proc('a').role(), 'ACTIVE');
    assert.is(await proc('b').role(), 'STANDBY');
    assert.equal(await holders(tb()), { vip: ['a'], gateway: ['a'] });
  }

  const partition = suite('cluster partitions on the testbed');

  partition.before(
    loudly(async () => {
      ctx.tb = await startTestbed({ realServers: 1 });
      await cableAtRealtime(tb());
      ctx.dir = mkdtempSync(join(tmpdir(), 'tnd-cluster-'));
      ctx.main = await bundleMain();
      await prepareVipService(tb());
      await startPair();
    }),
  );

  partition.after(async () => {
    await Promise.all(Object.values(ctx.procs).map((p) => p?.stop('SIGKILL')));
    await ctx.tb?.down();
    ctx.main?.cleanup();
    if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
  });

  partition(
    'serial cable cut: LINK_DOWN on both, no failover; reconnected, LINK_UP',
    withLogs(logged, async () => {
      await cutSerial(tb());
      for (const n of ['a', 'b'] as const) {
        await waitFor(
          `${n}: serial down`,
          () => proc(n).status(),
          (s) => link(s, 'serial')?.status === 'down',
          2000,
        );
      }
      await settle(300);
      await noFailover();
      const a = await proc('a').status();
      assert.ok(alarms(a, 'LINK_DOWN') >= 1);
      assert.is(alarms(a, 'PEER_DEAD'), 0);
      assert.is(link(a, 'eth')?.status, 'up');
      await repair(tb());
      for (const n of ['a', 'b'] as const) {
        await waitFor(
          `${n}: serial up`,
          () => proc(n).status(),
          (s) => link(s, 'serial')?.status === 'up',
          5000,
        );
      }
      assert.ok(alarms(await proc('a').status(), 'LINK_UP') >= 1);
      await noFailover();
    }),
  );

  partition(
    'Ethernet heartbeat cut (hb0 down): LINK_DOWN, no failover; reconnected, LINK_UP',
    withLogs(logged, async () => {
      await tb().exec('a', ['ip', 'link', 'set', 'hb0', 'down']);
      await waitFor(
        'b: eth down',
        () => proc('b').status(),
        (s) => link(s, 'eth')?.status === 'down',
        2000,
      );
      await waitFor(
        'a: eth down',
        () => proc('a').status(),
        (s) => link(s, 'eth')?.status === 'down',
        2000,
      );
      await settle(300);
      await noFailover();
      const b = await proc('b').status();
      // The carrier event came first (a datagram already queued may mark the link up again briefly).
      // The kernel reports carrier changes from a normal-priority worker: under a real-time load (the
      // frame flood of another test file) that report can come after silence already said LINK_DOWN.
      await waitFor(
        'B to see the carrier go',
        async () => proc('b').log.some((l) => l.msg === 'hb0 carrier down'),
        (v) => v,
        3000,
      );
      assert.is(link(b, 'serial')?.status, 'up');
      assert.is(alarms(b, 'PEER_DEAD'), 0);
      await tb().exec('a', ['ip', 'link', 'set', 'hb0', 'up']);
      for (const n of ['a', 'b'] as const) {
        await waitFor(
          `${n}: eth up`,
          () => proc(n).status(),
          (s) => link(s, 'eth')?.status === 'up',
          5000,
        );
      }
      await noFailover();
    }),
  );

  partition(
    'both cables cut, no ping node: split brain; reconnected, the older epoch releases',
    withLogs(logged, async () => {
      const epochA = (await proc('a').status()).epoch;
      await cutSerial(tb());
      await tb().exec('a', ['ip', 'link', 'set', 'hb0', 'down']);
      await waitFor(
        'B ACTIVE',
        () => proc('b').role(),
        (r) => r === 'ACTIVE',
        3000,
        10,
      );
      assert.is(
        await proc('a').role(),
        'ACTIVE',
        'without a ping node A cannot tell it is not the one cut off',
      );
      const b = await proc('b').status();
      assert.ok(b.epoch > epochA, `B took a newer epoch (${b.epoch} > ${epochA})`);
      const burstsBefore = b.takeover.bursts.started;
      await waitFor(
        'both hold the VIP',
        () => holders(tb()),
        (h) => h.vip.length === 2,
        2000,
      );
      await repair(tb());
      await tb().exec('a', ['ip', 'link', 'set', 'hb0', 'up']);
      await proc('a').waitForRole('STANDBY', 5000);
      assert.is(await proc('b').role(), 'ACTIVE');
      const a = await proc('a').status();
      assert.ok(alarms(a, 'SPLIT_BRAIN') >= 1, 'A reported the split brain');
      assert.is(a.transitions.at(-1)?.reason, 'split-brain');
      // The winner re-announces (stale ARP caches): on meeting the second ACTIVE, or when the peer is back.
      await waitFor(
        'B re-announced',
        () => proc('b').status(),
        (s) => s.takeover.bursts.started > burstsBefore,
        2000,
      );
      await onlyOn(tb(), 'b');
      const r = await waitFor(
        'the client through B',
        () => clientReaches(tb()),
        (v) => v.viaVip === 'rs1',
        3000,
        50,
      );
      assert.equal(r, { viaVip: 'rs1', routed: 'rs1' });
    }),
  );

  partition(
    'both cables and the active uplink cut, client as ping node: the isolated active steps down',
    withLogs(logged, async () => {
      await startPair({ pingAddress: tb().addresses.client });
      await cutSerial(tb());
      await tb().exec('a', ['ip', 'link', 'set', 'hb0', 'down']);
      await tb().exec('a', ['ip', 'link', 'set', 'client0', 'down']);
      await waitFor(
        'B ACTIVE',
        () => proc('b').role(),
        (r) => r === 'ACTIVE',
        3000,
        10,
      );
      await waitFor(
        'A FAULT',
        () => proc('a').role(),
        (r) => r === 'FAULT',
        3000,
        10,
      );
      const a = await proc('a').status();
      assert.ok(alarms(a, 'ISOLATED') >= 1);
      assert.is(a.transitions.at(-1)?.reason, 'isolated');
      await onlyOn(tb(), 'b');
      const r = await waitFor(
        'the client through B',
        () => clientReaches(tb()),
        (v) => v.viaVip === 'rs1',
        3000,
        50,
      );
      assert.equal(r, { viaVip: 'rs1', routed: 'rs1' });
      await repair(tb());
      for (const nic of ['hb0', 'client0']) await tb().exec('a', ['ip', 'link', 'set', nic, 'up']);
      await proc('a').waitForRole('STANDBY', 5000);
      assert.is(await proc('b').role(), 'ACTIVE');
    }),
  );

  partition.run();
}
