import { type ChildProcess, spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDesired } from '../../firmware/forward/model.ts';
import { NftForwardingPlane } from '../../firmware/forward/nft/plane.ts';
import { NftPacketFilter } from '../../hal/packetfilter/linux.ts';
import { canRun } from '../support/needs.ts';
import { startTestbed, type Testbed } from '../support/testbed.ts';
import { desired, dr, nat } from './support.ts';
import { linksUp, moveAddresses, prepareForForwarding, spread } from './testbed-setup.ts';

/**
 * The data plane on the simulated cluster: traffic from the client to the VIP reaches the real servers
 * in proportion to their weights (DR and NAT), weight 0 drains, and long-lived downloads survive the
 * VIP and gateway moving from A to B when both were programmed from the same desired state.
 */
const LINKS = { clientLink: 'client0', serverLink: 'server0' };

interface Ctx {
  tb: Testbed;
  a: NftForwardingPlane;
  b: NftForwardingPlane;
  filters: NftPacketFilter[];
}

interface Download {
  readonly child: ChildProcess;
  /** The real server answering (its X-Real-Server header), as soon as the headers arrive. */
  readonly server: Promise<string>;
  /** curl's verdict: `<status> <bytes> exit=<code>`. */
  readonly done: Promise<string>;
}

/** A download from the client, kept running in the background. */
function download(tb: Testbed, url: string, rate: string): Download {
  const argv = ['curl', '-sS', '-D', '-', '-o', '/dev/null', '--max-time', '90', '--limit-rate', rate];
  const child = spawn(
    'ip',
    ['netns', 'exec', tb.ns('client'), ...argv, '-w', '\n%{http_code} %{size_download}', url],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let found: (name: string) => void = () => {};
  const server = new Promise<string>((resolve) => {
    found = resolve;
  });
  const collect = (d: Buffer): void => {
    out += d.toString();
    const m = /x-real-server: (\S+)/i.exec(out);
    if (m) found(m[1] as string);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const done = new Promise<string>((resolve) =>
    child.on('close', (code) => {
      found('none');
      resolve(`${out.trim().split('\n').at(-1)} exit=${code}`);
    }),
  );
  return { child, server, done };
}

const until = async (what: () => Promise<boolean>, ms: number): Promise<void> => {
  const end = performance.now() + ms;
  while (!(await what())) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

function near(tally: Map<string, number>, name: string, share: number, total: number, slack: number): void {
  const got = (tally.get(name) ?? 0) / total;
  assert.ok(
    Math.abs(got - share) <= slack,
    `${name}: ${(got * 100).toFixed(0)}% of ${total}, expected ${(share * 100).toFixed(0)}%`,
  );
}

if (
  canRun('forwarding on the testbed', { root: true, tools: ['ip', 'socat', 'nft', 'curl', 'arping', 'ss'] })
) {
  const flow = suite<Ctx>('DR and NAT on the testbed', {} as Ctx);

  flow.before(async (ctx) => {
    ctx.tb = await startTestbed({ realServers: 3 });
    await prepareForForwarding(ctx.tb);
    ctx.filters = [
      new NftPacketFilter({ netns: ctx.tb.ns('a') }),
      new NftPacketFilter({ netns: ctx.tb.ns('b') }),
    ];
    ctx.a = new NftForwardingPlane(ctx.filters[0] as NftPacketFilter, LINKS);
    ctx.b = new NftForwardingPlane(ctx.filters[1] as NftPacketFilter, LINKS);
    // Small receive buffers: a rate-limited download then keeps the wire busy for its whole length
    // (with the defaults the server pushes megabytes into the client's buffer at once).
    await ctx.tb.exec('client', [
      'sysctl',
      '-qw',
      'net.ipv4.tcp_rmem=4096 16384 65536',
      'net.core.rmem_max=65536',
    ]);
    for (const node of ['a', 'b'] as const) {
      // NAT failover: conntrack picks up flows mid-stream and does not judge their windows.
      await ctx.tb.exec(
        node,
        [
          'sysctl',
          '-qw',
          'net.netfilter.nf_conntrack_tcp_loose=1',
          'net.netfilter.nf_conntrack_tcp_be_liberal=1',
        ],
        { allowFail: true },
      );
    }
  });

  flow.after(async (ctx) => {
    for (const f of ctx.filters ?? []) await f.close();
    await ctx.tb?.down();
  });

  const both = async (ctx: Ctx, input: unknown): Promise<void> => {
    const d = parseDesired(input);
    await Promise.all([ctx.a.apply(d), ctx.b.apply(d)]);
  };

  flow('DR: connections reach every real server in proportion to weight (1:1:2)', async (ctx) => {
    const servers = [
      { address: '198.51.100.11' },
      { address: '198.51.100.12' },
      { address: '198.51.100.13', weight: 2 },
    ];
    await both(ctx, desired([dr('web', 80, 0, { servers })]));
    const tally = await spread(ctx.tb, ctx.tb.addresses.vip, 80, 200);
    const total = [...tally.values()].reduce((x, y) => x + y, 0);
    assert.is(total, 200, JSON.stringify([...tally]));
    near(tally, 'rs1', 0.25, total, 0.1);
    near(tally, 'rs2', 0.25, total, 0.1);
    near(tally, 'rs3', 0.5, total, 0.12);
    const c = (await ctx.a.counters()).services[0];
    assert.is(c?.connections, 200);
    assert.equal(
      c?.servers.map((s) => s.connections),
      ['rs1', 'rs2', 'rs3'].map((n) => tally.get(n) ?? 0),
    );
  });

  flow('NAT: VIP:8080 to port 80 on every real server in proportion (2:1:1)', async (ctx) => {
    const servers = [
      { address: '198.51.100.11', port: 80, weight: 2 },
      { address: '198.51.100.12', port: 80 },
      { address: '198.51.100.13', port: 80 },
    ];
    await both(ctx, desired([dr('web', 80, 3), nat('app', 8080, 0, { servers })]));
    const tally = await spread(ctx.tb, ctx.tb.addresses.vip, 8080, 200);
    const total = [...tally.values()].reduce((x, y) => x + y, 0);
    assert.is(total, 200, JSON.stringify([...tally]));
    near(tally, 'rs1', 0.5, total, 0.12);
    near(tally, 'rs2', 0.25, total, 0.1);
    const c = (await ctx.a.counters()).services.find((s) => s.name === 'app');
    assert.is(c?.connections, 200);
    assert.ok((c?.bytes ?? 0) > 200 * 100, `NAT counts both directions: ${c?.bytes} bytes`);
  });

  flow('weight 0 drains: no new connections; NAT keeps the established download', async (ctx) => {
    await both(ctx, desired([dr('web', 80, 3), nat('app', 8080, 3, { servers: undefined })]));
    await both(
      ctx,
      desired([
        dr('web', 80, 3),
        nat('app', 8080, 0, { servers: [1, 2, 3].map((i) => ({ address: `198.51.100.1${i}`, port: 80 })) }),
      ]),
    );
    const dl = download(ctx.tb, `http://${ctx.tb.addresses.vip}:8080/bytes/3000000`, '1M');
    const busy = await dl.server;
    assert.match(busy, /^rs\d$/);
    const servers = [1, 2, 3].map((i) => ({
      address: `198.51.100.1${i}`,
      port: 80,
      weight: `rs${i}` === busy ? 0 : 1,
    }));
    await both(
      ctx,
      desired([
        dr('web', 80, 0, { servers: servers.map((s) => ({ address: s.address, weight: s.weight })) }),
        nat('app', 8080, 0, { servers }),
      ]),
    );
    for (const port of [80, 8080]) {
      const tally = await spread(ctx.tb, ctx.tb.addresses.vip, port, 60);
      assert.is(tally.get(busy as string), undefined, `port ${port}: ${JSON.stringify([...tally])}`);
      assert.is(
        [...tally.values()].reduce((x, y) => x + y, 0),
        60,
      );
    }
    assert.match(await dl.done, /^200 3000000 exit=0$/);
  });

  flow('DR drain: the established download stays on the draining server, new flows avoid it', async (ctx) => {
    const up = [1, 2, 3].map((i) => ({ address: `198.51.100.1${i}` }));
    await both(ctx, desired([dr('web', 80, 0, { servers: up })]));
    const dl = download(ctx.tb, `http://${ctx.tb.addresses.vip}/bytes/3000000`, '500K');
    const busy = await dl.server;
    assert.match(busy, /^rs\d$/);
    const drained = up.map((r, i) => (`rs${i + 1}` === busy ? { ...r, state: 'drain' as const } : r));
    await both(ctx, desired([dr('web', 80, 0, { servers: drained })]));
    const tally = await spread(ctx.tb, ctx.tb.addresses.vip, 80, 60);
    assert.is(tally.get(busy), undefined, JSON.stringify([...tally]));
    assert.is(
      [...tally.values()].reduce((x, y) => x + y, 0),
      60,
    );
    // The new flows that hashed to the drained server's slots are remembered, so their later packets
    // follow their SYN to the fallback.
    const moved = await ctx.tb.exec('a', ['nft', '-j', 'list', 'set', 'netdev', 'tandem_dr', 'mv_web']);
    const elems = (JSON.parse(moved.stdout) as { nftables: { set?: { elem?: unknown[] } }[] }).nftables.find(
      (o) => o.set !== undefined,
    )?.set?.elem;
    assert.ok((elems?.length ?? 0) > 0, moved.stdout.slice(0, 300));
    assert.match(await dl.done, /^200 3000000 exit=0$/);
  });

  flow('failover: DR and NAT downloads continue on B after the VIP and gateway move from A', async (ctx) => {
    await both(
      ctx,
      desired([
        dr('web', 80, 3),
        nat('app', 8080, 0, { servers: [1, 2, 3].map((i) => ({ address: `198.51.100.1${i}`, port: 80 })) }),
      ]),
    );
    const { vip } = ctx.tb.addresses;
    // Slow enough (8 s) that the downloads are still running when the addresses have moved on a loaded host.
    const drDl = download(ctx.tb, `http://${vip}/bytes/4000000`, '500K');
    const natDl = download(ctx.tb, `http://${vip}:8080/bytes/4000000`, '500K');
    // The active's process (here a stand-in that holds nothing) dies; the addresses move by hand.
    const active = spawn('ip', ['netns', 'exec', ctx.tb.ns('a'), 'sleep', '60'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1200));
    active.kill('SIGKILL');
    await moveAddresses(ctx.tb, 'a', 'b');
    const [drResult, natResult] = await Promise.all([drDl.done, natDl.done]);
    console.log(`  after failover: DR ${drResult}; NAT ${natResult}`);
    // B carried both flows after the move (counted in its own tables).
    const onB = (await ctx.b.counters()).services;
    const web = onB.find((x) => x.name === 'web');
    const app = onB.find((x) => x.name === 'app');
    assert.ok((web?.packets ?? 0) > 0, `B forwarded ${web?.packets} DR packets`);
    assert.ok((app?.bytes ?? 0) > 0, `B forwarded ${app?.bytes} NAT bytes`);
    assert.match(drResult, /^200 4000000 exit=0$/);
    assert.match(natResult, /^200 4000000 exit=0$/);
    // New connections go through B.
    const tally = await spread(ctx.tb, vip, 80, 30);
    assert.is(
      [...tally.values()].reduce((x, y) => x + y, 0),
      30,
    );
  });

  flow(
    'NAT failover picked up from the server side: the reply rules send the flow to the same server',
    async (ctx) => {
      // B is active after the previous test. Move back to A, but hold the client's packets on A for a
      // moment, so the real server's retransmission reaches A first and conntrack sees the flow backwards.
      await linksUp(ctx.tb, 'a');
      await both(
        ctx,
        desired([
          nat('app', 8080, 0, { servers: [1, 2, 3].map((i) => ({ address: `198.51.100.1${i}`, port: 80 })) }),
        ]),
      );
      const { vip, client } = ctx.tb.addresses;
      // 16 s at this rate: still running when the addresses have moved, even on a loaded host.
      const dl = download(ctx.tb, `http://${vip}:8080/bytes/4000000`, '250K');
      await new Promise((r) => setTimeout(r, 1000));
      const block = `add table inet tndhold { chain pre { type filter hook prerouting priority -300; ip saddr ${client} tcp dport 8080 drop; }; }`;
      await ctx.tb.exec('a', ['nft', block]);
      try {
        await moveAddresses(ctx.tb, 'b', 'a');
        await until(async () => {
          const ct = await ctx.tb.exec('a', ['conntrack', '-L', '-p', 'tcp', '--orig-port-src', '80'], {
            allowFail: true,
          });
          return ct.stdout.includes(`dst=${client}`);
          // The server retransmits with exponential back-off while the client's packets are held: on a
          // loaded host the next retransmission can come late.
        }, 60_000);
      } finally {
        await ctx.tb.exec('a', ['nft', 'delete', 'table', 'inet', 'tndhold'], { allowFail: true });
      }
      const result = await dl.done;
      console.log(`  server-side pick-up: ${result}`);
      assert.match(result, /^200 4000000 exit=0$/);
      const app = (await ctx.a.counters()).services.find((x) => x.name === 'app');
      assert.ok((app?.bytes ?? 0) > 0, `A forwarded ${app?.bytes} NAT bytes after taking over`);
      await linksUp(ctx.tb, 'b');
    },
  );

  flow.run();
}
