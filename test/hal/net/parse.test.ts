import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HalError } from '../../../hal/errors.ts';
import { parseIp } from '../../../hal/net/ip.ts';
import { diffLink } from '../../../hal/net/link-diff.ts';
import {
  parseAddresses,
  parseLinks,
  parseMonitorLine,
  parseNeighbours,
  parseRoutes,
} from '../../../hal/net/linux-parse.ts';
import type { LinkInfo } from '../../../hal/net/types.ts';
import { checkAnnounceOptions, checkLinkName, checkRoute, parseCidr } from '../../../hal/net/validate.ts';

const invalidNaming = (text: string) => (e: unknown) =>
  HalError.is(e, 'HAL_INVALID_ARGUMENT') && e.message.includes(text);

const ip = suite('net ip: canonical text');

ip('IPv6 is printed as iproute2 prints it (RFC 5952)', () => {
  const cases: [string, string][] = [
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1:0:0:1:1:0:0:1', '1::1:1:0:0:1'],
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
    ['fe80::6c95:ff:feb2:beb4', 'fe80::6c95:ff:feb2:beb4'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['::ffff:a00:1', '::ffff:10.0.0.1'],
    ['::10.0.0.1', '::10.0.0.1'],
    ['1::10.0.0.1', '1::a00:1'],
  ];
  for (const [input, out] of cases) assert.is(parseIp(input)?.address, out, input);
});

ip('IPv4 and what is not an address', () => {
  assert.equal(parseIp('10.0.0.1')?.family, 'inet');
  assert.is(parseIp('10.0.0.1')?.value, 0x0a000001n);
  for (const bad of ['010.0.0.1', '10.0.0', 'fe80::1%eth0', '10.0.0.1/24', '', 'host']) {
    assert.is(parseIp(bad), undefined, bad);
  }
});

ip.run();

// ---

const validate = suite('net validate');

validate('CIDRs need an address and an in-range prefix, and errors name them', () => {
  assert.equal(parseCidr('10.0.0.5/24').cidr, '10.0.0.5/24');
  assert.equal(parseCidr('2001:DB8::5/64').cidr, '2001:db8::5/64');
  for (const bad of ['10.0.0.5', '10.0.0.5/33', '10.0.0.5/', '/24', '10.0.0.5/24 ', '::/129', 'x/1']) {
    assert.throws(() => parseCidr(bad), invalidNaming(bad), bad);
  }
});

validate('link names follow the kernel rule', () => {
  for (const good of ['eth0', 'tndbr0', 'a'.repeat(15), 'eth0.100', 'vip@x'])
    assert.is(checkLinkName(good), good);
  for (const bad of ['', '.', '..', 'a'.repeat(16), 'a/b', 'a:b', 'a b']) {
    assert.throws(
      () => checkLinkName(bad),
      (e: unknown) => HalError.is(e, 'HAL_INVALID_ARGUMENT'),
      bad,
    );
  }
});

validate('routes: default, host bits, families, metric defaults', () => {
  assert.equal(checkRoute({ destination: 'default', gateway: '10.0.0.1' }, true).destination, 'default');
  assert.is(checkRoute({ destination: '0.0.0.0/0', link: 'eth0' }, true).destination, 'default');
  assert.is(checkRoute({ destination: '2001:db8::/32', link: 'eth0' }, true).metric, 1024);
  assert.is(checkRoute({ destination: '10.1.0.0/16' }, false).metric, 0);
  assert.throws(
    () => checkRoute({ destination: '10.1.2.0/16', link: 'eth0' }, true),
    invalidNaming('10.1.0.0/16'),
  );
  assert.throws(
    () => checkRoute({ destination: '10.1.0.0/16' }, true),
    invalidNaming('needs a gateway, a link or both'),
  );
  assert.throws(
    () => checkRoute({ destination: 'default', gateway: '10.0.0.1', metric: 2 ** 32 }, true),
    invalidNaming('metric'),
  );
});

validate('announce defaults', () => {
  assert.equal(checkAnnounceOptions('eth0', {}), { form: 'request', count: 1, intervalMs: 1000 });
});

validate.run();

// ---

const monitor = suite('net linux-parse: ip -o monitor link');

monitor('veth, bridge, deleted and prefixed lines', () => {
  const veth =
    '2: tndxa0@if2: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN group default \\    link/ether 6e:95:00:b2:be:b4 brd ff:ff:ff:ff:ff:ff link-netns tnd-x-b';
  assert.equal(parseMonitorLine(veth), {
    deleted: false,
    link: {
      name: 'tndxa0',
      index: 2,
      adminUp: true,
      carrier: false,
      operState: 'down',
      mtu: 1500,
      mac: '6e:95:00:b2:be:b4',
    },
  });
  const bridge =
    '5: tndbr0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    link/ether 92:E2:4B:C6:C7:A0 brd ff:ff:ff:ff:ff:ff';
  assert.equal(parseMonitorLine(bridge)?.link.mac, '92:e2:4b:c6:c7:a0');
  assert.is(parseMonitorLine(bridge)?.link.carrier, true);
  const deleted =
    'Deleted 4: tndxe0@NONE: <BROADCAST,MULTICAST> mtu 1400 qdisc noop state DOWN group default \\    link/ether 76:01:df:2b:1c:d0 brd ff:ff:ff:ff:ff:ff';
  assert.equal([parseMonitorLine(deleted)?.deleted, parseMonitorLine(deleted)?.link.name], [true, 'tndxe0']);
  const prefixed =
    '[LINK]3: tun0: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UNKNOWN group default \\    link/none ';
  assert.equal(parseMonitorLine(prefixed)?.link, {
    name: 'tun0',
    index: 3,
    adminUp: true,
    carrier: true,
    operState: 'unknown',
    mtu: 1500,
    mac: '',
  });
});

monitor('anything else is skipped', () => {
  for (const junk of [
    '',
    'Timestamp: Tue Nov 24 00:24:13 2026',
    'inet 10.0.0.1/24 scope global eth0',
    '2: x',
  ]) {
    assert.is(parseMonitorLine(junk), undefined, junk);
  }
});

monitor.run();

// ---

const json = suite('net linux-parse: ip -j');

json('links and addresses', () => {
  const text = JSON.stringify([
    {
      ifindex: 2,
      ifname: 'tnda0',
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: 1500,
      operstate: 'UP',
      address: '6E:95:00:B2:BE:B4',
      addr_info: [
        { family: 'inet', local: '10.9.0.1', prefixlen: 24, scope: 'global', label: 'tnda0' },
        {
          family: 'inet',
          local: '10.9.0.5',
          prefixlen: 24,
          scope: 'global',
          secondary: true,
          label: 'tnda0:v',
        },
        { family: 'inet6', local: 'FE80::1', prefixlen: 64, scope: 'link' },
      ],
    },
    { ifname: 'broken' },
  ]);
  assert.equal(parseLinks(text), [
    {
      name: 'tnda0',
      index: 2,
      adminUp: true,
      carrier: true,
      operState: 'up',
      mtu: 1500,
      mac: '6e:95:00:b2:be:b4',
    },
  ]);
  assert.equal(
    parseAddresses(text).map((a) => [a.cidr, a.label, a.scope, a.secondary]),
    [
      ['10.9.0.1/24', 'tnda0', 'global', false],
      ['10.9.0.5/24', 'tnda0:v', 'global', true],
      ['fe80::1/64', undefined, 'link', false],
    ],
  );
  assert.equal(parseLinks(''), []);
});

json('routes: host routes get their prefix, non-unicast entries are skipped', () => {
  const text = JSON.stringify([
    { dst: 'default', gateway: '10.9.0.2', dev: 'tnda0', metric: 50, flags: [] },
    {
      dst: '10.9.0.0/24',
      dev: 'tnda0',
      protocol: 'kernel',
      scope: 'link',
      prefsrc: '10.9.0.1',
      flags: ['linkdown'],
    },
    { dst: '10.1.2.3', gateway: '10.9.0.2', dev: 'tnda0', flags: [] },
    { type: 'unreachable', dst: '10.66.0.0/16', flags: [] },
  ]);
  assert.equal(
    parseRoutes(text, 'inet').map((r) => [
      r.destination,
      r.gateway,
      r.metric,
      r.protocol,
      r.scope,
      r.linkDown,
    ]),
    [
      ['default', '10.9.0.2', 50, 'boot', 'global', false],
      ['10.9.0.0/24', undefined, 0, 'kernel', 'link', true],
      ['10.1.2.3/32', '10.9.0.2', 0, 'boot', 'global', false],
    ],
  );
});

json('neighbours filtered by dev carry the link', () => {
  const text = JSON.stringify([
    { dst: '10.9.0.5', lladdr: '6E:95:00:B2:BE:B4', state: ['REACHABLE'] },
    { dst: '10.9.0.6', state: ['FAILED'] },
  ]);
  assert.equal(parseNeighbours(text, 'tndbr0'), [
    { link: 'tndbr0', ip: '10.9.0.5', mac: '6e:95:00:b2:be:b4', state: 'reachable' },
    { link: 'tndbr0', ip: '10.9.0.6', mac: undefined, state: 'failed' },
  ]);
});

json.run();

// ---

const diff = suite('net link-diff');

diff('one change yields admin, carrier, oper, changed in that order', () => {
  const up: LinkInfo = {
    name: 'eth0',
    index: 2,
    adminUp: true,
    carrier: true,
    operState: 'up',
    mtu: 1500,
    mac: '02:00:00:00:00:01',
  };
  const down: LinkInfo = { ...up, adminUp: false, carrier: false, operState: 'down', mtu: 1400 };
  assert.equal(
    diffLink(up, down).map((e) => e.kind),
    ['admin-down', 'carrier-down', 'oper-down', 'changed'],
  );
  assert.equal(diffLink(up, up), []);
  assert.equal(diffLink(undefined, up), [{ kind: 'added', link: up }]);
  assert.equal(diffLink(up, undefined), [{ kind: 'removed', link: up }]);
  assert.equal(
    diffLink(down, { ...down, operState: 'lowerlayerdown' }).map((e) => e.kind),
    ['changed'],
  );
});

diff.run();
