// @test-alone: 100,000 fuzzed frames per link load both CPUs for minutes (test/run.ts runs it by itself).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterStatus } from '../../../firmware/cluster/service.ts';
import { canRun } from '../../support/needs.ts';
import { startTestbed, type Testbed } from '../../support/testbed.ts';
import {
  bundle,
  bundleMain,
  CLUSTER_KEY_HEX,
  ClusterProcess,
  cableAtRealtime,
  loudly,
  UDP_PORT,
  withLogs,
  writeNodeConfig,
} from './support.ts';

/**
 * A (ACTIVE) against a fake peer in B's place (fuzz-peer.ts) on the real cable and the real heartbeat
 * link: forged, garbled and replayed frames are dropped and counted, and 100,000 random and mutated
 * frames at each link leave A running, ACTIVE and still accepting the peer's valid frames.
 */

type Counts = { sent: Record<string, number>; valid: number };

if (canRun('cluster frames on the testbed', { root: true, tools: ['ip', 'socat', 'nft', 'arping'] })) {
  const ctx: {
    tb?: Testbed;
    dir?: string;
    main?: Awaited<ReturnType<typeof bundleMain>>;
    fuzz?: Awaited<ReturnType<typeof bundle>>;
    a?: ClusterProcess;
  } = {};
  const tb = (): Testbed => ctx.tb as Testbed;
  const a = (): ClusterProcess => ctx.a as ClusterProcess;
  const logged = () => [ctx.a];

  function fakePeer(args: string[], timeoutMs: number): Promise<Counts> {
    const t = tb();
    const [cmd, ...rest] = [
      'ip',
      'netns',
      'exec',
      t.ns('b'),
      // The cluster processes run at real-time priority and parse everything the peer sends: an ordinary
      // sender would be starved by the very receiver it floods.
      'chrt',
      '--fifo',
      '30',
      ...(ctx.fuzz as { argv: string[] }).argv,
      '--key',
      CLUSTER_KEY_HEX,
      '--serial',
      t.serial.b,
      '--local',
      t.addresses.b.heartbeat,
      '--peer',
      t.addresses.a.heartbeat,
      '--port',
      String(UDP_PORT),
      ...args,
    ] as [string, ...string[]];
    const child = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve, reject) => {
      child.once('close', (code) => {
        clearTimeout(timer);
        const last = out.trim().split('\n').pop() ?? '';
        if (code !== 0) {
          const why = code === null ? `killed after ${timeoutMs} ms` : `exited ${code}`;
          reject(new Error(`fake peer ${why}: ${err.trim().slice(-500)}`));
        } else resolve(JSON.parse(last) as Counts);
      });
    });
  }

  const link = (s: ClusterStatus, name: 'serial' | 'eth') => {
    const shell = s.links.find((l) => l.name === name)?.shell;
    if (shell === undefined) throw new Error(`no ${name} link in the status`);
    return shell.counters;
  };
  const delta = (after: ClusterStatus, before: ClusterStatus, name: 'serial' | 'eth', kind: string): number =>
    (link(after, name).decodeErrors as Record<string, number>)[kind]! -
    (link(before, name).decodeErrors as Record<string, number>)[kind]!;

  const frames = suite('cluster frames on the testbed');

  frames.before(
    loudly(async () => {
      ctx.tb = await startTestbed({ realServers: 1 });
      await cableAtRealtime(tb());
      ctx.dir = mkdtempSync(join(tmpdir(), 'tnd-cluster-'));
      ctx.main = await bundleMain();
      ctx.fuzz = await bundle(join(import.meta.dirname, 'fuzz-peer.ts'));
      const main = ctx.main as { argv: string[] };
      // A alone: the fake peer takes B's cable end and heartbeat address.
      ctx.a = await ClusterProcess.start(tb(), 'a', writeNodeConfig(tb(), ctx.dir as string, 'a'), main);
      await a().waitForRole('ACTIVE', 5000);
    }),
  );

  frames.after(async () => {
    await ctx.a?.stop('SIGKILL');
    await ctx.tb?.down();
    ctx.main?.cleanup();
    ctx.fuzz?.cleanup();
    if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
  });

  frames(
    'one forged, one garbled and one replayed frame per link: each dropped and counted',
    withLogs(logged, async () => {
      const before = await a().status();
      const counts = await fakePeer(['--mode', 'precise', '--boot', '1000'], 20_000);
      assert.equal(counts.sent, { forged: 1, garbled: 1, replayed: 1 });
      const after = await a().status();
      assert.is(after.role, 'ACTIVE');
      assert.is(after.transitions.length, before.transitions.length, 'no role change');
      assert.is(delta(after, before, 'eth', 'bad-mac'), 1, 'the forged datagram');
      assert.is(delta(after, before, 'eth', 'bad-crc'), 1, 'the garbled datagram');
      assert.ok(delta(after, before, 'serial', 'bad-mac') >= 1, 'the forged frame on the cable');
      assert.ok(delta(after, before, 'serial', 'bad-crc') >= 1, 'the garbled frame on the cable');
      assert.is(after.drops.replayed - before.drops.replayed, 2, 'the replayed frame, once per link');
      assert.is(after.peer?.boot, 1000);
      assert.is(after.peer?.role, 'STANDBY');
      assert.ok(link(after, 'eth').framesIn - link(before, 'eth').framesIn >= counts.valid - 5);
    }),
  );

  frames(
    '100,000 random and mutated frames at each link: A keeps running, ACTIVE, and counts them',
    withLogs(logged, async () => {
      const before = await a().status();
      const counts = await fakePeer(
        ['--mode', 'fuzz', '--frames', '100000', '--seed', '7', '--boot', '1001'],
        // About 15 s on an idle host; a CI host running the simulations beside it has taken 60 s.
        180_000,
      );
      const total = Object.values(counts.sent).reduce((x, y) => x + y, 0);
      assert.is(total, 100_000);
      assert.ok(a().running, 'A is still running');
      const after = await a().status();
      assert.is(after.role, 'ACTIVE');
      assert.is(after.transitions.length, before.transitions.length, 'no role change');
      for (const kind of ['garbage', 'bad-crc', 'bad-mac', 'bad-version', 'bad-payload', 'bad-length']) {
        assert.ok(
          delta(after, before, 'eth', kind) > 1000,
          `eth ${kind}: ${delta(after, before, 'eth', kind)}`,
        );
      }
      for (const kind of ['garbage', 'bad-crc', 'bad-mac', 'bad-version', 'bad-payload']) {
        assert.ok(
          delta(after, before, 'serial', kind) > 1000,
          `serial ${kind}: ${delta(after, before, 'serial', kind)}`,
        );
      }
      assert.ok(after.drops.replayed - before.drops.replayed > 1000, 'replays dropped by the core');
      assert.is(after.peer?.boot, 1001, "the peer's valid frames still got through");
      assert.ok(link(after, 'serial').framesIn > link(before, 'serial').framesIn);
      assert.ok(link(after, 'eth').framesOut > link(before, 'eth').framesOut, 'A kept sending');
      console.log(
        `    fuzz: sent ${JSON.stringify(counts.sent)}; A counted eth ${JSON.stringify(link(after, 'eth').decodeErrors)}, serial ${JSON.stringify(link(after, 'serial').decodeErrors)}, replays ${after.drops.replayed}`,
      );
    }),
  );

  frames.run();
}
