import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../../board/sim/testbed/exec.ts';
import { addVeth, TestNetns } from '../../board/sim/testbed/netns.ts';
import { startTakeover } from '../../firmware/takeover/service.ts';
import type { Takeover } from '../../firmware/takeover/types.ts';
import { LinuxClock } from '../../hal/clock/linux.ts';
import { LinuxNet } from '../../hal/net/linux.ts';
import { captureArp } from '../hal/net/tcpdump.ts';
import { canRun } from '../support/needs.ts';

/**
 * The takeover on the real network stack (iproute2 and arping through LinuxNet) in a test namespace:
 * director `d` (tndd0, 10.77.1.2) and a client `c` (tndc0) that captures the gratuitous ARP. Measures
 * when the first frame of a takeover leaves, which the Linux driver's burst does not report (arping
 * returns about a second after its frame).
 */
const VIP = '10.77.1.100';

async function addresses(ns: string): Promise<string[]> {
  const { stdout } = await run(['ip', '-n', ns, '-o', '-4', 'addr', 'show', 'dev', 'tndd0']);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) =>
      l
        .replace(/^\d+: tndd0\s+inet /, '')
        .replace(/ brd \S+/, '')
        .replace(/\\.*$/, '')
        .trim(),
    )
    .map((l) => l.replace(/\s+valid_lft.*$/, '').replace(/ scope global/, ''));
}

if (canRun('takeover on the Linux net driver', { root: true, tools: ['ip', 'arping', 'tcpdump'] })) {
  const nets = new TestNetns();
  const ctx: { d?: string; c?: string; net?: LinuxNet; takeover?: Takeover; mac?: string } = {};
  const t = suite('takeover on Linux (namespaces, iproute2, arping)');

  t.before(async () => {
    ctx.d = await nets.add('tkd');
    ctx.c = await nets.add('tkc');
    await addVeth({ ns: ctx.d, ifname: 'tndd0' }, { ns: ctx.c, ifname: 'tndc0' });
    await run(['ip', '-n', ctx.d, 'addr', 'add', '10.77.1.2/24', 'dev', 'tndd0']);
    await run(['ip', '-n', ctx.c, 'addr', 'add', '10.77.1.10/24', 'dev', 'tndc0']);
    await run(['ip', '-n', ctx.d, 'link', 'set', 'tndd0', 'up']);
    await run(['ip', '-n', ctx.c, 'link', 'set', 'tndc0', 'up']);
    const clock = new LinuxClock();
    ctx.net = new LinuxNet({ netns: ctx.d, clock });
    ctx.mac = (await ctx.net.links()).find((l) => l.name === 'tndd0')?.mac;
    ctx.takeover = startTakeover({
      net: ctx.net,
      clock,
      config: { addresses: [{ link: 'tndd0', cidr: `${VIP}/24` }], garp: { count: 2, intervalMs: 50 } },
    });
  });

  t.after(async () => {
    await ctx.takeover?.close();
    await ctx.net?.close();
    await nets.cleanup();
  });

  t(
    'acquire: the VIP up with its label, both forms of gratuitous ARP on the wire, the first at once',
    async () => {
      const d = ctx.d as string;
      const capture = captureArp(ctx.c as string, 'tndc0', `arp and host ${VIP}`, 4, 5000);
      await capture.ready;
      const started = performance.timeOrigin + performance.now();
      await ctx.takeover?.acquire(3);
      const up = performance.timeOrigin + performance.now();
      assert.ok((await addresses(d)).some((a) => a.startsWith(`${VIP}/24`) && a.endsWith('tndd0:vip')));
      const frames = await capture.frames;
      assert.is(frames.length, 4, `two frames per form: ${JSON.stringify(frames)}`);
      assert.ok(frames.every((f) => f.ethSrc === ctx.mac));
      assert.is(frames.filter((f) => f.arp.startsWith('Request who-has')).length, 2);
      assert.is(frames.filter((f) => f.arp.startsWith('Reply')).length, 2);
      const firstMs = (frames[0]?.time ?? 0) * 1000 - started;
      console.log(
        `    acquire: addresses up after ${(up - started).toFixed(1)} ms, first frame after ${firstMs.toFixed(1)} ms`,
      );
      assert.ok(firstMs < 1000, `the first frame left ${firstMs.toFixed(0)} ms after acquire()`);
      assert.ok(ctx.takeover?.status().converged);
    },
  );

  t(
    'release removes the VIP; a restart reconciles away what a crash left, labelled leftovers too',
    async () => {
      const d = ctx.d as string;
      await ctx.takeover?.release();
      assert.not.ok((await addresses(d)).some((a) => a.startsWith(VIP)));
      await run(['ip', '-n', d, 'addr', 'add', `${VIP}/24`, 'dev', 'tndd0', 'label', 'tndd0:vip']);
      await run(['ip', '-n', d, 'addr', 'add', '10.77.1.200/24', 'dev', 'tndd0', 'label', 'tndd0:vip']);
      await run(['ip', '-n', d, 'addr', 'add', '10.77.1.50/24', 'dev', 'tndd0']);
      const fresh = startTakeover({
        net: ctx.net as LinuxNet,
        clock: new LinuxClock(),
        config: { addresses: [{ link: 'tndd0', cidr: `${VIP}/24` }] },
      });
      await fresh.reconcile();
      await fresh.reconcile();
      const left = await addresses(d);
      assert.not.ok(
        left.some((a) => a.startsWith(VIP) || a.startsWith('10.77.1.200')),
        left.join(', '),
      );
      assert.ok(
        left.some((a) => a.startsWith('10.77.1.50')),
        'addresses that are not ours stay',
      );
      await fresh.close();
    },
  );

  t.run();
}
