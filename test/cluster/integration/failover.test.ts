import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canRun } from '../../support/needs.ts';
import { startTestbed, type Testbed } from '../../support/testbed.ts';
import {
  bundleMain,
  bundleProbe,
  ClusterProcess,
  cableAtRealtime,
  clientReaches,
  loudly,
  onlyOn,
  powerOff,
  powerOn,
  prepareVipService,
  startProbe,
  waitFor,
  withLogs,
  writeNodeConfig,
} from './support.ts';

/**
 * Two cluster processes (A priority 200, B 100) on the testbed, both heartbeat cables, no ping node.
 * The active dies three ways; each time the standby takes over, the VIP and the floating gateway move,
 * and the client reaches the real server through the VIP (nft DNAT on both appliances) and, routed, by
 * its own address (the client's default route is the VIP, the real server's the floating gateway).
 */

type Node = 'a' | 'b';
const other = (n: Node): Node => (n === 'a' ? 'b' : 'a');

if (canRun('cluster failover on the testbed', { root: true, tools: ['ip', 'socat', 'nft', 'arping'] })) {
  const ctx: {
    tb?: Testbed;
    dir?: string;
    main?: Awaited<ReturnType<typeof bundleMain>>;
    probe?: Awaited<ReturnType<typeof bundleProbe>>;
    procs: Partial<Record<Node, ClusterProcess>>;
    active: Node;
  } = { procs: {}, active: 'a' };

  const tb = (): Testbed => ctx.tb as Testbed;
  const proc = (n: Node): ClusterProcess => ctx.procs[n] as ClusterProcess;
  const logged = () => [ctx.procs.a, ctx.procs.b];

  async function start(node: Node): Promise<ClusterProcess> {
    const config = writeNodeConfig(tb(), ctx.dir as string, node);
    const p = await ClusterProcess.start(tb(), node, config, ctx.main as { argv: string[] });
    ctx.procs[node] = p;
    return p;
  }

  /** Waits until `node` is ACTIVE; returns the milliseconds from `since` (performance.now()). */
  async function becomesActive(node: Node, since: number): Promise<number> {
    await waitFor(
      `${node} ACTIVE`,
      () => proc(node).role(),
      (r) => r === 'ACTIVE',
      5000,
      5,
    );
    ctx.active = node;
    return performance.now() - since;
  }

  async function rejoinsAsStandby(node: Node): Promise<void> {
    await start(node);
    await proc(node).waitForRole('STANDBY', 5000);
    await onlyOn(tb(), ctx.active);
  }

  async function clientGoesThrough(): Promise<void> {
    const r = await waitFor(
      'the client to reach rs1 through the VIP',
      () => clientReaches(tb()),
      (v) => v.viaVip === 'rs1' && v.routed === 'rs1',
      3000,
      50,
    );
    assert.equal(r, { viaVip: 'rs1', routed: 'rs1' });
  }

  const failover = suite('cluster failover on the testbed');

  failover.before(
    loudly(async () => {
      ctx.tb = await startTestbed({ realServers: 1 });
      await cableAtRealtime(tb());
      ctx.dir = mkdtempSync(join(tmpdir(), 'tnd-cluster-'));
      ctx.main = await bundleMain();
      ctx.probe = await bundleProbe();
      await prepareVipService(tb());
      // A first, so it is the ACTIVE whatever each start costs on a loaded host.
      await start('a');
      await proc('a').waitForRole('ACTIVE', 5000);
      await start('b');
    }),
  );

  failover.after(async () => {
    await Promise.all(Object.values(ctx.procs).map((p) => p?.stop('SIGKILL')));
    await ctx.tb?.down();
    ctx.main?.cleanup();
    ctx.probe?.cleanup();
    if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
  });

  failover(
    'the pair settles: A ACTIVE, B STANDBY, the VIP and gateway on A, the client through it',
    withLogs(logged, async () => {
      await becomesActive('a', performance.now());
      await proc('b').waitForRole('STANDBY', 3000);
      await onlyOn(tb(), 'a');
      await clientGoesThrough();
      const s = await proc('a').status();
      assert.ok(
        s.links.every((l) => l.status === 'up'),
        `both links up: ${JSON.stringify(s.links.map((l) => l.status))}`,
      );
      assert.is(s.peer?.role, 'STANDBY');
    }),
  );

  failover(
    'kill -9 of the active: the standby takes over, the orphaned heartbeat drops the VIP; restarted, STANDBY',
    withLogs(logged, async () => {
      const dead = ctx.active;
      const t0 = performance.now();
      proc(dead).kill('SIGKILL');
      const ms = await becomesActive(other(dead), t0);
      assert.ok(ms < 1000, `took over in ${ms.toFixed(0)} ms`);
      const s = await proc(other(dead)).status();
      assert.is(s.transitions.at(-1)?.reason, 'peer-dead');
      // Its heartbeat process saw the host die: it stopped sending and took the addresses down itself.
      await onlyOn(tb(), other(dead));
      await clientGoesThrough();
      await rejoinsAsStandby(dead);
      await clientGoesThrough();
    }),
  );

  failover(
    'power loss of the active (processes killed, links down): the standby takes over',
    withLogs(logged, async () => {
      const dead = ctx.active;
      const t0 = performance.now();
      await powerOff(tb(), proc(dead));
      const ms = await becomesActive(other(dead), t0);
      assert.ok(ms < 1000, `took over in ${ms.toFixed(0)} ms`);
      await clientGoesThrough();
      await powerOn(tb(), dead);
      await rejoinsAsStandby(dead);
      await clientGoesThrough();
    }),
  );

  failover(
    'SIGTERM on the active hands over at once, without a failed request',
    withLogs(logged, async () => {
      const leaving = ctx.active;
      const run = startProbe(tb(), ctx.probe as { argv: string[] }, {
        target: `${tb().addresses.vip}:80`,
        everyMs: 10,
        count: 150,
        timeoutMs: 1000,
      });
      await run.flowing;
      await new Promise((r) => setTimeout(r, 200));
      const t0 = performance.now();
      proc(leaving).kill('SIGTERM');
      const ms = await becomesActive(other(leaving), t0);
      const exit = await proc(leaving).exited;
      assert.equal(exit, { code: 0, signal: null });
      const attempts = await run.done;
      const failed = attempts.filter((a) => !a.ok);
      assert.is(attempts.length, 150);
      // Both appliances forward the VIP statelessly to the same server, so no connection may fail.
      assert.equal(failed, [], 'no failed request during a graceful handover');
      assert.ok(ms < 500, `handed over in ${ms.toFixed(0)} ms`);
      const s = await proc(other(leaving)).status();
      assert.is(s.transitions.at(-1)?.reason, 'handover');
      await onlyOn(tb(), other(leaving));
      await rejoinsAsStandby(leaving);
    }),
  );

  failover.run();
}
