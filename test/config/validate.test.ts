import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../firmware/config/errors.ts';
import { hashPassword } from '../../firmware/config/password.ts';
import { clusterInput, forwardingInput, monitorInput, takeoverInput } from '../../firmware/config/project.ts';
import { formatIssue, parseConfig, renderPath, validateConfig } from '../../firmware/config/validate.ts';
import { parseDesired } from '../../firmware/forward/model.ts';
import { resolveConfig as resolveMonitor } from '../../firmware/monitor/config.ts';

const hash = await hashPassword('admin-password', { params: { ln: 10, r: 8, p: 1 } });

const doc = () => ({
  cluster: { keepaliveMs: 20, warnMs: 50, deadMs: 80, priority: { a: 150, b: 100 } },
  services: [
    {
      name: 'web',
      vip: '192.0.2.10',
      protocol: 'tcp',
      port: 80,
      method: 'nat',
      servers: [
        { name: 'web1', address: '198.51.100.11', port: 8080 },
        { name: 'web2', address: '198.51.100.12', port: 8080, weight: 2 },
      ],
    },
    {
      name: 'dns',
      vip: '192.0.2.53',
      protocol: 'udp',
      port: 53,
      method: 'dr',
      servers: [{ name: 'ns1', address: '198.51.100.53' }],
    },
  ],
  checks: [
    { service: 'web', kind: 'tcp' } as {
      service: string;
      server?: string;
      kind: string;
      [field: string]: unknown;
    },
    { service: 'web', server: 'web2', kind: 'http', path: '/health', intervalMs: 1000 },
  ],
  users: [
    { name: 'admin', hash, role: 'admin' },
    { name: 'ops', hash, role: 'operator' },
  ],
});

/** The issues of an invalid document as `path: message` lines. */
function issues(input: unknown): string[] {
  const r = validateConfig(input);
  assert.not.ok(r.ok, 'expected the document to be refused');
  return r.ok ? [] : r.issues.map(formatIssue);
}

const valid = suite('validateConfig: valid documents');

valid('an empty document is the factory configuration', () => {
  const r = validateConfig({});
  assert.ok(r.ok);
  if (r.ok) assert.equal(r.config, { cluster: {}, services: [], checks: [], users: [] });
});

valid('a full document validates and is typed', () => {
  const r = validateConfig(doc());
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.issues));
  if (r.ok) {
    assert.is(r.config.services[0]?.servers[1]?.weight, 2);
    assert.is(r.config.users[1]?.role, 'operator');
  }
});

valid('projections are what the owning services accept', () => {
  const config = parseConfig(doc());
  const forwarding = parseDesired(forwardingInput(config));
  assert.is(forwarding.services[0]?.servers[0]?.address, '198.51.100.11');
  const monitor = resolveMonitor(monitorInput(config).input);
  assert.equal(
    monitor.services.map((s) => s.name),
    ['web'],
    'only services with checks are monitored',
  );
  assert.equal(
    monitor.services[0]?.servers.map((s) => s.checks.map((c) => c.kind.kind)),
    [['tcp'], ['tcp', 'http']],
  );
  assert.equal(clusterInput(config, { nodeId: 1, name: 'a' }), {
    nodeId: 1,
    keepaliveMs: 20,
    warnMs: 50,
    deadMs: 80,
    priority: 150,
  });
  assert.equal(clusterInput(config, { nodeId: 2, name: 'c' }), {
    nodeId: 2,
    keepaliveMs: 20,
    warnMs: 50,
    deadMs: 80,
  });
});

valid.run();

// ---

const shape = suite('validateConfig: shape errors name the place, what was expected and what came');

shape('a bad enum value', () => {
  const d = doc();
  (d.services[0] as Record<string, unknown>).protocol = 'prot';
  assert.equal(issues(d), ['services[web].protocol: expected tcp|udp, got "prot"']);
});

shape('missing and unknown fields, all reported', () => {
  const d = doc() as Record<string, unknown>;
  const svc = (d.services as Record<string, unknown>[])[1] as Record<string, unknown>;
  delete svc.method;
  svc.colour = 'blue';
  d.extra = 1;
  assert.equal(issues(d), [
    'services[dns].method: expected dr|nat, got nothing',
    'services[dns].colour: is not a known field here',
    'extra: is not a known field here',
  ]);
});

shape('out-of-range numbers and a bad hash', () => {
  const d = doc();
  (d.services[0]?.servers[0] as Record<string, unknown>).port = 70000;
  (d.users[1] as Record<string, unknown>).hash = 'plain-text';
  assert.equal(issues(d), [
    'services[web].servers[web1].port: expected a port 1..65535, got 70000',
    'users[ops].hash: expected a scrypt password hash ($scrypt$ln=..,r=..,p=..$salt$hash), got "plain-text"',
  ]);
});

shape('a section of the wrong type', () => {
  assert.equal(issues({ services: {} }), ['services: expected a list of services, got {}']);
  assert.equal(issues([]), ['(document): expected an object (the configuration document), got []']);
  assert.equal(issues({ cluster: { priority: { 'A!': 3 } } }), [
    'cluster.priority.A!: expected a node name: 1-32 of a-z 0-9 _ -, got "A!"',
  ]);
});

shape.run();

// ---

const refs = suite('validateConfig: references between sections');

refs('duplicate names, checks on unknown targets, no admin', () => {
  const d = doc();
  d.services[0]?.servers.push({ name: 'web1', address: '198.51.100.13', port: 8080 });
  d.checks.push({ service: 'mail', kind: 'tcp' }, { service: 'web', server: 'web9', kind: 'tcp' });
  d.users = [{ name: 'ops', hash, role: 'operator' }];
  assert.equal(issues(d), [
    'services[web].servers[web1]: a second server in service web named web1',
    'checks[mail/tcp]: expected an existing service, got "mail"',
    'checks[web/web9/tcp]: expected a server of service web, got "web9"',
    'users: expected at least one user with role admin, got none',
  ]);
});

refs('two checks of one kind on the same target', () => {
  const d = doc();
  d.checks.push({ service: 'web', kind: 'tcp' });
  assert.equal(issues(d), ['checks[web/tcp]: a second tcp check on the same target']);
});

refs.run();

// ---

const owners = suite("validateConfig: the owners' validators, mapped back to the document");

owners('forwarding: an IPv6 server behind an IPv4 VIP', () => {
  const d = doc();
  (d.services[0]?.servers[1] as Record<string, unknown>).address = '2001:db8::1';
  assert.equal(issues(d), [
    'services[web].servers[web2].address: must be IPv4 like the VIP 192.0.2.10, got "2001:db8::1"',
  ]);
});

owners("monitor: a check kind's own field", () => {
  const d = doc();
  (d.checks[1] as Record<string, unknown>).path = 'no-slash';
  assert.equal(issues(d), [
    'checks[web/web2/http].path: expected a path starting with "/" and without white space, got "no-slash"',
  ]);
});

owners('monitor: an unknown check kind', () => {
  const d = doc();
  (d.checks[0] as Record<string, unknown>).kind = 'telepathy';
  const [line] = issues(d);
  assert.match(line ?? '', /^checks\[web\/telepathy\]\.kind: expected one of tcp, http/);
});

owners('cluster: timers that contradict each other', () => {
  const d = doc();
  d.cluster.warnMs = 10;
  assert.equal(issues(d), ['cluster.warnMs: should be an integer from 21 to 3600000, instead got 10']);
});

owners('takeover: the floating addresses are checked by the takeover service', () => {
  const ok = validateConfig({
    ...doc(),
    takeover: { addresses: [{ link: 'client0', cidr: '192.0.2.10/24' }] },
  });
  assert.ok(ok.ok);
  if (ok.ok)
    assert.equal(takeoverInput(ok.config), { addresses: [{ link: 'client0', cidr: '192.0.2.10/24' }] });
  const [line] = issues({ ...doc(), takeover: { addresses: [{ link: 'client0', cidr: '192.0.2.300/24' }] } });
  assert.match(line ?? '', /^takeover: addresses\[0\]\.cidr /);
  assert.equal(issues({ takeover: { addresses: [], garp: { count: 0 } } }), [
    'takeover.garp.count: expected a frame count 1..100, got 0',
  ]);
});

owners('parseConfig throws CONFIG_INVALID carrying every issue', () => {
  const d = doc();
  (d.services[0] as Record<string, unknown>).protocol = 'sctp';
  (d.services[1] as Record<string, unknown>).protocol = 'sctp';
  assert.throws(
    () => parseConfig(d),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.code === 'CONFIG_INVALID' &&
      e.issues.length === 2 &&
      /services\[web\]\.protocol: expected tcp\|udp, got "sctp" \(and 1 more\)/.test(e.message),
  );
});

owners('renderPath names items by name, checks by target, others by index', () => {
  const d = doc();
  assert.is(renderPath(d, ['services', 0, 'servers', 1, 'port']), 'services[web].servers[web2].port');
  assert.is(renderPath(d, ['checks', 1]), 'checks[web/web2/http]');
  assert.is(renderPath({ list: [1, 2] }, ['list', 1]), 'list[1]');
});

owners.run();
