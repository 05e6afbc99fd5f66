import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addVeth, netnsExec, TestNetns } from '../../../board/sim/testbed/netns.ts';
import { encodeEchoRequest, internetChecksum } from '../../../hal/icmp/codec.ts';
import type { PingerStats } from '../../../hal/icmp/types.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { canRun } from '../../support/needs.ts';
import { ChildPinger } from './child-pinger.ts';
import { pingerContract } from './contract.ts';

/**
 * The real driver in namespace "here" (10.77.0.1, fd77::1) pinging a peer namespace "peer" over a veth
 * pair; the peer's kernel answers for 10.77.0.2-4 and fd77::2. 10.77.0.99 is on the link but nobody has it.
 */
const LIVE = ['10.77.0.2', '10.77.0.3', '10.77.0.4'];
const SILENT = '10.77.0.99';

async function makeNamespaces(nets: TestNetns): Promise<{ here: string; peer: string }> {
  const here = await nets.add('here');
  const peer = await nets.add('peer');
  await addVeth({ ns: here, ifname: 'tndhere0' }, { ns: peer, ifname: 'tndpeer0' });
  await netnsExec(here, ['ip', 'addr', 'add', '10.77.0.1/24', 'dev', 'tndhere0']);
  await netnsExec(here, ['ip', '-6', 'addr', 'add', 'fd77::1/64', 'dev', 'tndhere0', 'nodad']);
  for (const address of LIVE)
    await netnsExec(peer, ['ip', 'addr', 'add', `${address}/24`, 'dev', 'tndpeer0']);
  await netnsExec(peer, ['ip', '-6', 'addr', 'add', 'fd77::2/64', 'dev', 'tndpeer0', 'nodad']);
  await netnsExec(here, ['ip', 'link', 'set', 'tndhere0', 'up']);
  await netnsExec(peer, ['ip', 'link', 'set', 'tndpeer0', 'up']);
  return { here, peer };
}

/** Polls the child's counters until `done` holds (bounded), returning the last ones. */
async function statsUntil(pinger: ChildPinger, done: (s: PingerStats) => boolean): Promise<PingerStats> {
  let stats = await pinger.fetchStats();
  for (let i = 0; i < 40 && !done(stats); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    stats = await pinger.fetchStats();
  }
  return stats;
}

if (canRun('ICMP on raw sockets in network namespaces', { root: true, tools: ['ip', 'setpriv'] })) {
  const nets = new TestNetns();
  const spaces = makeNamespaces(nets);
  // The namespaces outlive every suite in this file; the last one's `after` removes them.
  const cleanup = async (): Promise<void> => {
    await spaces.catch(() => undefined);
    await nets.cleanup();
  };

  // One child serves the whole contract suite: each test gets a fresh pinger in it (renew).
  let shared: ChildPinger | undefined;
  pingerContract('linux (raw-socket, in a namespace)', async () => {
    const { here } = await spaces;
    if (shared === undefined) shared = await ChildPinger.start(here);
    else await shared.renew();
    const pinger = shared;
    return {
      pinger,
      live: LIVE,
      live6: 'fd77::2',
      silent: SILENT,
      noRoute: '10.200.0.1',
      settle: (p) => p,
      stats: () => pinger.fetchStats(),
      dispose: async () => {},
    };
  });

  // ---

  const wire = suite<{ here: ChildPinger; peer: ChildPinger; identifier: number }>(
    'LinuxPinger on the wire',
    {} as { here: ChildPinger; peer: ChildPinger; identifier: number },
  );

  wire.before(async (ctx) => {
    const { here, peer } = await spaces;
    ctx.here = await ChildPinger.start(here);
    ctx.peer = await ChildPinger.start(peer);
    ctx.identifier = (await ctx.here.fetchStats()).identifier;
  });

  wire.after(async (ctx) => {
    await shared?.dispose();
    await ctx.here?.dispose();
    await ctx.peer?.dispose();
    await cleanup();
  });

  wire('a veth peer answers within milliseconds with the Linux default TTL of 64', async ({ here }) => {
    const reply = await here.ping(LIVE[0] as string, { timeoutMs: 2000 });
    assert.ok(reply.rttMs > 0 && reply.rttMs < 100, `rtt ${reply.rttMs} ms`);
    assert.is(reply.ttl, 64);
  });

  wire(
    'garbage from the peer is ignored and counted, and pinging goes on',
    async ({ here, peer, identifier }) => {
      // Keep a ping in flight so the socket is reading while the garbage arrives.
      const waiting = here.ping(SILENT, { timeoutMs: 5000 }).catch(() => undefined);
      const before = await here.fetchStats();
      const reply = (id: number, type = 0, corrupt = false): string => {
        const message = encodeEchoRequest(4, {
          identifier: id,
          sequence: 4242,
          payload: Buffer.from('garbage'),
        });
        message[0] = type;
        message.writeUInt16BE(0, 2);
        message.writeUInt16BE(internetChecksum(message), 2);
        if (corrupt) message[10] = (message[10] as number) ^ 0x55;
        return message.toString('hex');
      };
      await peer.inject('10.77.0.1', reply(identifier, 0, true)); // bad checksum
      await peer.inject('10.77.0.1', reply((identifier + 1) & 0xffff)); // another pinger's reply
      await peer.inject('10.77.0.1', reply(identifier)); // ours, but no ping to 10.77.0.2 is in flight
      await peer.inject('10.77.0.1', reply(identifier, 40)); // an ICMP type the kernel filter lets through
      await peer.inject('10.77.0.1', reply(identifier, 13)); // a timestamp request: the kernel filter drops it
      const after = await statsUntil(
        here,
        (s) => s.ignored['not-echo-reply'] > before.ignored['not-echo-reply'],
      );
      const grew = (reason: keyof PingerStats['ignored']): number =>
        after.ignored[reason] - before.ignored[reason];
      assert.equal(
        [grew('bad-checksum'), grew('foreign'), grew('unmatched'), grew('not-echo-reply')],
        [1, 1, 1, 1],
        JSON.stringify(after.ignored),
      );
      const good = await here.ping(LIVE[1] as string, { timeoutMs: 2000 });
      assert.ok(good.rttMs < 100);
      await here.close();
      await waiting;
    },
  );

  wire('two pingers in one namespace each take only their own replies', async () => {
    const { here } = await spaces;
    const a = await ChildPinger.start(here);
    const b = await ChildPinger.start(here);
    try {
      const burst = (p: ChildPinger) =>
        Promise.all(Array.from({ length: 20 }, (_, i) => p.ping(LIVE[i % 3] as string, { timeoutMs: 2000 })));
      // A silent ping on each keeps both sockets open and reading until the counters are taken.
      const waiting = [a, b].map((p) => p.ping(SILENT, { timeoutMs: 5000 }).catch(() => undefined));
      await Promise.all([a.fetchStats(), b.fetchStats()]);
      await Promise.all([burst(a), burst(b)]);
      const sa = await statsUntil(a, (s) => s.ignored.foreign > 0);
      const sb = await statsUntil(b, (s) => s.ignored.foreign > 0);
      await Promise.all([a.close(), b.close(), ...waiting]);
      assert.is.not(sa.identifier, sb.identifier);
      assert.equal([sa.replies, sb.replies], [20, 20]);
      assert.is(sa.ignored.unmatched + sb.ignored.unmatched, 0);
      // Each raw socket sees every echo reply in the namespace; the other pinger's count as foreign.
      assert.ok(sa.ignored.foreign > 0 && sb.ignored.foreign > 0, JSON.stringify([sa, sb]));
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });

  wire('without CAP_NET_RAW a ping fails with HAL_PERMISSION', async () => {
    const { here } = await spaces;
    const unprivileged = await ChildPinger.start(here, { withoutNetRaw: true });
    try {
      const err = await rejects(
        unprivileged.ping(LIVE[0] as string, { timeoutMs: 1000 }),
        withCode('HAL_PERMISSION'),
      );
      assert.match((err as Error).message, /raw icmp:ipv4 socket/);
    } finally {
      await unprivileged.dispose();
    }
  });

  wire.run();
}
