import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseLinks, parseRoutes } from '../../board/sim/testbed/observe.ts';
import {
  type Observed,
  type ObservedLink,
  type ObservedNamespace,
  planNetwork,
  strayNamespaces,
} from '../../board/sim/testbed/plan.ts';
import { networkChecks } from '../../board/sim/testbed/status.ts';
import { buildTopology, type Topology } from '../../board/sim/testbed/topology.ts';

/** What the kernel shows for a whole testbed. */
function whole(t: Topology): Map<string, ObservedNamespace> {
  const link = (name: string, kind: string | undefined, extra: Partial<ObservedLink> = {}): ObservedLink => ({
    name,
    kind,
    adminUp: true,
    operUp: true,
    master: undefined,
    addresses: [],
    ...extra,
  });
  const map = new Map<string, ObservedNamespace>();
  for (const { ns } of t.nodes) {
    const links: ObservedLink[] = [link('lo', undefined, { addresses: ['127.0.0.1/8'] })];
    for (const br of t.bridges.filter((b) => b.ns === ns)) links.push(link(br.name, 'bridge'));
    for (const i of t.veths.flatMap((v) => [v.a, v.b]).filter((x) => x.ns === ns)) {
      links.push(link(i.name, 'veth', { master: i.master, addresses: i.addresses }));
    }
    const routes = t.routes
      .filter((r) => r.ns === ns)
      .map((r) => ({ dst: r.dst, gateway: r.via, dev: r.dev }));
    map.set(ns, { links, routes, forwarding: t.forwarding.includes(ns) ? true : undefined });
  }
  return map;
}

function edit(
  observed: Map<string, ObservedNamespace>,
  ns: string,
  change: (n: ObservedNamespace) => ObservedNamespace,
): Observed {
  const copy = new Map(observed);
  const before = copy.get(ns);
  if (before) copy.set(ns, change(before));
  return copy;
}

const t = buildTopology({ prefix: 'tnd-t1-1' });

const plan = suite('planNetwork');

plan('from nothing: namespaces first, then bridges, veths, ports, addresses, up, routes, forwarding', () => {
  const steps = planNetwork(t, new Map());
  const order = steps.map((s) => s.argv.join(' '));
  const first = (needle: RegExp): number => order.findIndex((o) => needle.test(o));
  const last = (needle: RegExp): number => order.map((o) => needle.test(o)).lastIndexOf(true);
  assert.is(steps.filter((s) => s.argv[2] === 'add' && s.argv[1] === 'netns').length, 7);
  assert.ok(last(/^ip netns add/) < first(/type bridge|link add/));
  assert.ok(last(/link add/) < first(/ master /));
  assert.ok(last(/addr replace/) < first(/route replace/));
  assert.ok(last(/route replace/) < first(/ip_forward/));
  assert.is(steps.filter((s) => s.argv.includes('veth')).length, t.veths.length);
  assert.is(steps.filter((s) => s.argv.includes('net.ipv4.ip_forward=1')).length, 2);
  const switchNs = t.bridges[0]?.ns ?? '';
  const bridgeFilter = steps.filter((s) => s.argv.some((a) => a.startsWith('net.bridge.')));
  assert.is(bridgeFilter.length, 1, 'bridged frames skip netfilter in the switch namespace only');
  assert.ok(bridgeFilter[0]?.argv.includes(switchNs));
  assert.ok(order.indexOf(`ip netns add ${switchNs}`) < order.indexOf(bridgeFilter[0]?.argv.join(' ') ?? ''));
  const hb = steps.find((s) => s.what.includes('hb0 <->'));
  assert.equal(hb?.argv, [
    'ip',
    '-n',
    'tnd-t1-1-a',
    'link',
    'add',
    'hb0',
    'type',
    'veth',
    'peer',
    'name',
    'hb0',
    'netns',
    'tnd-t1-1-b',
  ]);
});

plan('a whole testbed needs nothing (up is idempotent)', () => {
  assert.equal(planNetwork(t, whole(t)), []);
});

plan('a lost heartbeat link is recreated with its addresses and brought up, nothing else', () => {
  // A's end is gone; B's is still listed (a lone end is replaced with a fresh pair).
  const observed = edit(whole(t), 'tnd-t1-1-a', (n) => ({
    ...n,
    links: n.links.filter((l) => l.name !== 'hb0'),
  }));
  const whats = planNetwork(t, observed).map((s) => s.what);
  assert.equal(whats, [
    'tnd-t1-1-b: remove hb0',
    'veth tnd-t1-1-a:hb0 <-> tnd-t1-1-b:hb0',
    'tnd-t1-1-a: 203.0.113.1/30 on hb0',
    'tnd-t1-1-b: 203.0.113.2/30 on hb0',
    'tnd-t1-1-a: hb0 up',
    'tnd-t1-1-b: hb0 up',
  ]);
});

plan('a recreated bridge gets its ports back', () => {
  const observed = edit(whole(t), 'tnd-t1-1-sw', (n) => ({
    ...n,
    links: n.links.filter((l) => l.name !== 'br-server'),
  }));
  const whats = planNetwork(t, observed).map((s) => s.what);
  assert.ok(whats.includes('bridge tnd-t1-1-sw:br-server'));
  assert.ok(whats.includes('tnd-t1-1-sw: rs2 into br-server'));
  assert.not.ok(whats.some((w) => w.includes('into br-client')));
});

plan('a missing address, a down link, a lost route and forwarding off are each fixed alone', () => {
  let observed: Observed = edit(whole(t), 'tnd-t1-1-rs2', (n) => ({
    ...n,
    links: n.links.map((l) => (l.name === 'eth0' ? { ...l, addresses: [], adminUp: false } : l)),
    routes: [],
  }));
  observed = edit(new Map(observed), 'tnd-t1-1-b', (n) => ({ ...n, forwarding: false }));
  assert.equal(
    planNetwork(t, observed).map((s) => s.what),
    [
      'tnd-t1-1-rs2: 198.51.100.12/24 on eth0',
      'tnd-t1-1-rs2: eth0 up',
      'tnd-t1-1-rs2: route default via 198.51.100.1',
      'tnd-t1-1-b: IPv4 forwarding on',
    ],
  );
});

plan('extra addresses (a VIP taken by the cluster) are left alone', () => {
  const observed = edit(whole(t), 'tnd-t1-1-a', (n) => ({
    ...n,
    links: n.links.map((l) =>
      l.name === 'client0' ? { ...l, addresses: [...l.addresses, '192.0.2.100/24'] } : l,
    ),
  }));
  assert.equal(planNetwork(t, observed), []);
});

plan('strayNamespaces: real servers beyond the count, never other prefixes', () => {
  const small = buildTopology({ prefix: 'tnd-t1-1', realServers: 2 });
  assert.equal(strayNamespaces(small, ['tnd-t1-1-rs2', 'tnd-t1-1-rs3', 'tnd-t1-10-rs3', 'tnd-rs3']), [
    'tnd-t1-1-rs3',
  ]);
});

plan.run();

// ---

const checks = suite('networkChecks');

checks('all pass for a whole testbed', () => {
  const all = networkChecks(t, whole(t));
  assert.ok(all.length > 20);
  assert.equal(
    all.filter((c) => !c.ok),
    [],
  );
});

checks('a link down and a missing namespace are reported by name', () => {
  let observed: Observed = edit(whole(t), 'tnd-t1-1-b', (n) => ({
    ...n,
    links: n.links.map((l) => (l.name === 'hb0' ? { ...l, operUp: false } : l)),
  }));
  const copy = new Map(observed);
  copy.delete('tnd-t1-1-rs3');
  observed = copy;
  const failing = networkChecks(t, observed).filter((c) => !c.ok);
  assert.ok(failing.some((c) => c.area === 'namespace' && c.name === 'tnd-t1-1-rs3'));
  const hb = failing.find((c) => c.area === 'link' && c.name.includes('hb0'));
  assert.match(hb?.detail ?? '', 'tnd-t1-1-b:hb0 down');
  assert.ok(failing.some((c) => c.area === 'route' && c.name.startsWith('tnd-t1-1-rs3')));
});

checks.run();

// ---

const parse = suite('observe: parsing ip -j output');

parse('links: kind, flags, master and IPv4 addresses', () => {
  const json = JSON.stringify([
    { ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN', addr_info: [] },
    {
      ifname: 'a-client',
      flags: ['BROADCAST', 'UP', 'LOWER_UP'],
      operstate: 'UP',
      master: 'br-client',
      linkinfo: { info_kind: 'veth' },
      addr_info: [
        { family: 'inet', local: '192.0.2.2', prefixlen: 24 },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
      ],
    },
    { ifname: 'hb0', flags: ['BROADCAST'], operstate: 'DOWN', linkinfo: { info_kind: 'veth' } },
  ]);
  assert.equal(parseLinks(json), [
    { name: 'lo', kind: undefined, adminUp: true, operUp: true, master: undefined, addresses: [] },
    {
      name: 'a-client',
      kind: 'veth',
      adminUp: true,
      operUp: true,
      master: 'br-client',
      addresses: ['192.0.2.2/24'],
    },
    { name: 'hb0', kind: 'veth', adminUp: false, operUp: false, master: undefined, addresses: [] },
  ]);
  assert.equal(parseLinks(''), []);
});

parse('routes', () => {
  assert.equal(parseRoutes('[{"dst":"default","gateway":"192.0.2.100","dev":"eth0","flags":[]}]'), [
    { dst: 'default', gateway: '192.0.2.100', dev: 'eth0' },
  ]);
});

parse.run();
