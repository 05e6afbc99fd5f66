import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TestbedError } from '../../board/sim/testbed/errors.ts';
import {
  allIfaces,
  buildTopology,
  interimRoutes,
  isTestbedNamespace,
  nodeNamespace,
  realServersIn,
} from '../../board/sim/testbed/topology.ts';

const invalid = (e: unknown): boolean => e instanceof TestbedError && e.code === 'TESTBED_INVALID_ARGUMENT';
const inRange = (cidr: string): boolean => /^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d+\/\d+$/.test(cidr);

const names = suite('topology: names');

names('default prefix tnd: client, a, b, sw, rs1..3', () => {
  const t = buildTopology();
  assert.is(t.prefix, 'tnd');
  assert.equal(t.nodes.map((n) => n.ns).sort(), [
    'tnd-a',
    'tnd-b',
    'tnd-client',
    'tnd-rs1',
    'tnd-rs2',
    'tnd-rs3',
    'tnd-sw',
  ]);
  assert.is(t.stateDir, '/run/tandem-sim/tnd');
  assert.is(t.serial.a, '/run/tandem-sim/tnd/serial-a');
  assert.is(t.serial.b, '/run/tandem-sim/tnd/serial-b');
  assert.is(t.serial.ns, 'tnd-sw');
});

names('appliances carry the NIC roles client0, server0, hb0; the switch has br-client and br-server', () => {
  const t = buildTopology();
  for (const node of ['a', 'b'] as const) {
    const ifaces = allIfaces(t)
      .filter((i) => i.node === node)
      .map((i) => i.name);
    assert.equal(ifaces.sort(), ['client0', 'hb0', 'server0']);
  }
  assert.equal(
    t.bridges.map((b) => `${b.ns}:${b.name}`),
    ['tnd-sw:br-client', 'tnd-sw:br-server'],
  );
  const ports = allIfaces(t).filter((i) => i.node === 'sw');
  assert.equal(
    ports.filter((p) => p.master === 'br-client').map((p) => p.name),
    ['client', 'a-client', 'b-client'],
  );
  assert.equal(
    ports.filter((p) => p.master === 'br-server').map((p) => p.name),
    ['a-server', 'b-server', 'rs1', 'rs2', 'rs3'],
  );
});

names('the heartbeat link joins A and B directly, not through the switch', () => {
  const hb = buildTopology().veths.filter((v) => v.a.name === 'hb0');
  assert.is(hb.length, 1);
  assert.is(hb[0]?.a.ns, 'tnd-a');
  assert.is(hb[0]?.b.ns, 'tnd-b');
  assert.is(hb[0]?.b.name, 'hb0');
});

names('interface names fit in 15 bytes and are unique per namespace, even with 50 servers', () => {
  const t = buildTopology({ prefix: 'tnd-t4194304-99', realServers: 50 });
  const ifaces = allIfaces(t);
  for (const i of ifaces) assert.ok(i.name.length <= 15, i.name);
  const keys = ifaces.map((i) => `${i.ns}/${i.name}`);
  assert.is(new Set(keys).size, keys.length);
});

names('a test prefix is seen by the orphan sweep regex', () => {
  const t = buildTopology({ prefix: 'tnd-t1234-2' });
  for (const n of t.nodes) assert.ok(/^tnd-t(\d+)-/.test(n.ns), n.ns);
});

names.run();

// ---

const addresses = suite('topology: addresses');

addresses('documentation ranges only, with the agreed host numbers', () => {
  const t = buildTopology();
  for (const i of allIfaces(t)) for (const a of i.addresses) assert.ok(inRange(a), a);
  const of = (node: string, name: string) =>
    allIfaces(t).find((i) => i.node === node && i.name === name)?.addresses;
  assert.equal(of('client', 'eth0'), ['192.0.2.10/24']);
  assert.equal(of('a', 'client0'), ['192.0.2.2/24']);
  assert.equal(of('b', 'client0'), ['192.0.2.3/24']);
  assert.equal(of('a', 'server0'), ['198.51.100.2/24']);
  assert.equal(of('b', 'server0'), ['198.51.100.3/24']);
  assert.equal(of('a', 'hb0'), ['203.0.113.1/30']);
  assert.equal(of('b', 'hb0'), ['203.0.113.2/30']);
  assert.equal(
    t.realServers.map((r) => [r.name, r.address, r.port]),
    [
      ['rs1', '198.51.100.11', 80],
      ['rs2', '198.51.100.12', 80],
      ['rs3', '198.51.100.13', 80],
    ],
  );
});

addresses('the VIP and the server-side gateway are reserved: routed to, never configured', () => {
  const t = buildTopology();
  const configured = allIfaces(t).flatMap((i) => i.addresses.map((a) => a.split('/')[0]));
  assert.not.ok(configured.includes('192.0.2.100'));
  assert.not.ok(configured.includes('198.51.100.1'));
  assert.equal(
    t.routes.map((r) => `${r.node} ${r.dst} via ${r.via}`),
    [
      'client default via 192.0.2.100',
      'rs1 default via 198.51.100.1',
      'rs2 default via 198.51.100.1',
      'rs3 default via 198.51.100.1',
    ],
  );
  assert.equal(t.forwarding, ['tnd-a', 'tnd-b']);
});

addresses('interim routes go through the chosen appliance and avoid the reserved addresses', () => {
  const t = buildTopology({ realServers: 2 });
  assert.equal(
    interimRoutes(t, 'b').map((r) => `${r.node} ${r.dst} via ${r.via}`),
    [
      'client 198.51.100.0/24 via 192.0.2.3',
      'rs1 192.0.2.0/24 via 198.51.100.3',
      'rs2 192.0.2.0/24 via 198.51.100.3',
    ],
  );
});

addresses.run();

// ---

const input = suite('topology: bad input');

input('prefixes that are not ours or not names are refused, naming the value', () => {
  for (const prefix of ['', 'foo', 'tnd-', 'tnd_x', 'TND', 'tnd x', `tnd${'x'.repeat(40)}`]) {
    assert.throws(() => buildTopology({ prefix }), invalid, prefix);
  }
  assert.throws(() => buildTopology({ prefix: 'foo' }), /"foo"/);
});

input('real server counts outside 1..50 are refused', () => {
  for (const realServers of [0, -1, 1.5, 51, Number.NaN]) {
    assert.throws(() => buildTopology({ realServers }), invalid, String(realServers));
  }
  assert.is(buildTopology({ realServers: 1 }).realServers.length, 1);
});

input('nodeNamespace names the nodes that exist', () => {
  const t = buildTopology({ realServers: 2 });
  assert.is(nodeNamespace(t, 'rs2'), 'tnd-rs2');
  assert.throws(() => nodeNamespace(t, 'rs3'), invalid);
  assert.throws(() => nodeNamespace(t, 'c'), /client, a, b, sw, rs1\.\.rs2/);
});

input.run();

// ---

const owned = suite('topology: which namespaces are ours');

owned('isTestbedNamespace matches only this prefix’s nodes', () => {
  assert.ok(isTestbedNamespace('tnd', 'tnd-a'));
  assert.ok(isTestbedNamespace('tnd', 'tnd-rs12'));
  assert.not.ok(isTestbedNamespace('tnd', 'tnd-t123-1-a'), 'another testbed');
  assert.not.ok(isTestbedNamespace('tnd', 'tnd-x-a'), 'another prefix');
  assert.not.ok(isTestbedNamespace('tnd', 'tnd-rs0'));
  assert.not.ok(isTestbedNamespace('tnd-t1-1', 'tnd-t1-10-a'));
  assert.ok(isTestbedNamespace('tnd-t1-1', 'tnd-t1-1-sw'));
});

owned('realServersIn finds the highest rsK of the prefix', () => {
  assert.is(realServersIn('tnd', ['tnd-a', 'tnd-rs1', 'tnd-rs4', 'tnd-t9-1-rs7']), 4);
  assert.is(realServersIn('tnd', ['tnd-a', 'other']), undefined);
});

owned.run();
