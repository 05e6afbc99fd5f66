/** The configuration document: defaults, and a clear error naming the field and value for each bad spec. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CHECK_KINDS, findKind } from '../../firmware/monitor/checks/index.ts';
import { resolveConfig } from '../../firmware/monitor/config.ts';
import { ConfigFieldError, MonitorError } from '../../firmware/monitor/errors.ts';

const base = (check: Record<string, unknown>, service: Record<string, unknown> = {}) => ({
  services: [
    {
      name: 'web',
      port: 80,
      checks: [check],
      servers: [{ name: 'rs1', address: '198.51.100.11' }],
      ...service,
    },
  ],
});

/** Asserts resolveConfig(doc) throws a ConfigFieldError on `field` whose message matches `pattern`. */
function refuses(doc: unknown, field: string, pattern: RegExp): void {
  assert.throws(
    () => resolveConfig(doc),
    (e: unknown) => {
      assert.instance(e, ConfigFieldError);
      const err = e as ConfigFieldError;
      assert.is(err.code, 'MONITOR_INVALID_CONFIG');
      assert.is(err.field, field, err.message);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

// ---
const defaults = suite('defaults');

defaults('every kind is registered once, by its tag', () => {
  assert.equal(
    CHECK_KINDS.map((k) => k.kind),
    ['tcp', 'http', 'https', 'icmp', 'dns', 'script', 'maintenance'],
  );
  assert.is(findKind('http')?.kind, 'http');
  assert.is(findKind('nope'), undefined);
});

defaults('policy: check over service defaults over built-ins; kind defaults for rise/fall', () => {
  const plan = resolveConfig({
    defaults: { intervalMs: 500, fall: 4 },
    services: [
      {
        name: 'web',
        port: 80,
        checks: [
          { kind: 'http', intervalMs: 200, timeoutMs: 150 },
          { kind: 'maintenance', path: '/run/m/{server}' },
        ],
        servers: [{ name: 'rs1', address: '198.51.100.11', weight: 3, checks: [{ kind: 'tcp', port: 22 }] }],
      },
    ],
  });
  const [http, maint, tcp] = plan.services[0]?.servers[0]?.checks ?? [];
  assert.equal(http?.policy, {
    intervalMs: 200,
    timeoutMs: 150,
    rise: 2,
    fall: 4,
    jitterMs: 200,
    retryMs: undefined,
  });
  assert.equal([maint?.policy.rise, maint?.policy.fall], [1, 1]);
  assert.equal([tcp?.kind.kind, tcp?.spec, tcp?.policy.intervalMs], ['tcp', { port: 22 }, 500]);
  assert.equal(http?.spec, {
    method: 'GET',
    path: '/',
    expectStatus: ['200-299'],
    maxBodyBytes: 65536,
    headers: {},
    keepAlive: false,
  });
  assert.is(plan.services[0]?.onFall, 'quiesce');
  assert.equal([plan.maxConcurrent, plan.maxConcurrentScripts], [512, 16]);
});

defaults('self: links, gateway as an icmp check, service probes; syslog facility names', () => {
  const plan = resolveConfig({
    self: {
      links: [{ role: 'client', link: 'client0', weight: 3 }],
      gateway: { address: '198.51.100.1', intervalMs: 300 },
      services: [{ name: 'journal', check: { kind: 'tcp' }, port: 7000 }],
    },
    alerts: { syslog: { host: '127.0.0.1', facility: 'local3' }, script: { path: '/bin/true' } },
  });
  assert.equal(plan.self.links, [{ name: 'link:client', role: 'client', link: 'client0', weight: 3 }]);
  assert.equal(
    plan.self.checks.map((c) => [
      c.name,
      c.kind,
      c.check.kind.kind,
      c.address,
      c.port,
      c.check.policy.intervalMs,
    ]),
    [
      ['gateway', 'gateway', 'icmp', '198.51.100.1', 0, 300],
      ['journal', 'service', 'tcp', '127.0.0.1', 7000, 2000],
    ],
  );
  assert.equal(plan.alerts.syslog, {
    host: '127.0.0.1',
    port: 514,
    facility: 19,
    appName: 'tandem-monitor',
    hostname: undefined,
  });
  assert.equal(plan.alerts.script, { path: '/bin/true', args: [], timeoutMs: 10000, killGraceMs: 1000 });
});

defaults.run();

// ---
const bad = suite('bad specs give clear errors');

bad('unknown kind names the kinds there are', () => {
  refuses(
    base({ kind: 'smtp' }),
    'services[0].checks[0].kind',
    /expected one of tcp, http, https, icmp, dns, script, maintenance, got 'smtp'/,
  );
});

bad('unknown field of a kind', () => {
  refuses(base({ kind: 'tcp', prot: 81 }), 'services[0].checks[0].prot', /is not a known field here, got 81/);
});

bad('tcp port out of range', () => {
  refuses(base({ kind: 'tcp', port: 70000 }), 'services[0].checks[0].port', /got 70000/);
});

bad('http: status code out of range, bad range, bad regex, bad digest, bad path', () => {
  refuses(
    base({ kind: 'http', expectStatus: [700] }),
    'services[0].checks[0].expectStatus[0]',
    /status code 100\.\.599.*got 700/,
  );
  refuses(
    base({ kind: 'http', expectStatus: ['299-200'] }),
    'services[0].checks[0].expectStatus[0]',
    /got '299-200'/,
  );
  refuses(
    base({ kind: 'http', bodyRegex: '(' }),
    'services[0].checks[0].bodyRegex',
    /not a valid regular expression.*got '\('/,
  );
  refuses(
    base({ kind: 'http', bodyDigest: 'md5:abc' }),
    'services[0].checks[0].bodyDigest',
    /md5\|sha1\|sha256.*got 'md5:abc'/,
  );
  refuses(
    base({ kind: 'http', path: 'health' }),
    'services[0].checks[0].path',
    /starting with "\/".*got 'health'/,
  );
  refuses(
    base({ kind: 'http', headers: { 'bad header': 'x' } }),
    'services[0].checks[0].headers.bad header',
    /header name/,
  );
  refuses(base({ kind: 'http', keepAlive: 'yes' }), 'services[0].checks[0].keepAlive', /got 'yes'/);
});

bad('https: SNI and verification fields', () => {
  refuses(base({ kind: 'https', sni: 'a b' }), 'services[0].checks[0].sni', /DNS name, got 'a b'/);
  refuses(
    base({ kind: 'https', verifyCertificate: 'yes' }),
    'services[0].checks[0].verifyCertificate',
    /got 'yes'/,
  );
});

bad('dns: name, type, rcode', () => {
  refuses(base({ kind: 'dns', name: 'bad name.example' }), 'services[0].checks[0].name', /DNS name/);
  refuses(base({ kind: 'dns', name: 'a.example', type: 'ANY' }), 'services[0].checks[0].type', /got 'ANY'/);
  refuses(
    base({ kind: 'dns', name: 'a.example', expectRcode: 'OK' }),
    'services[0].checks[0].expectRcode',
    /got 'OK'/,
  );
  refuses(base({ kind: 'dns' }), 'services[0].checks[0].name', /got undefined/);
});

bad('script and maintenance need absolute paths', () => {
  refuses(
    base({ kind: 'script', path: 'check.sh' }),
    'services[0].checks[0].path',
    /absolute path, got 'check\.sh'/,
  );
  refuses(
    base({ kind: 'maintenance', path: 'flags/{server}' }),
    'services[0].checks[0].path',
    /absolute path/,
  );
  refuses(
    base({ kind: 'script', path: '/x', env: { '1BAD': 'v' } }),
    'services[0].checks[0].env.1BAD',
    /environment variable name/,
  );
});

bad('policy: interval below 100 ms, zero rise', () => {
  refuses(
    base({ kind: 'tcp', intervalMs: 50 }),
    'services[0].checks[0].intervalMs',
    /at least 100 ms, got 50/,
  );
  refuses(base({ kind: 'tcp', rise: 0 }), 'services[0].checks[0].rise', /got 0/);
  refuses({ defaults: { timeoutMs: -1 } }, 'defaults.timeoutMs', /got -1/);
});

bad('a server check is named by its own path', () => {
  const doc = base({ kind: 'tcp' });
  (doc.services[0]?.servers[0] as Record<string, unknown>).checks = [{ kind: 'http', expectStatus: [] }];
  refuses(doc, 'services[0].servers[0].checks[0].expectStatus', /at least one status code/);
});

bad('servers: address, port, duplicate names; service quorum hysteresis', () => {
  refuses(
    { services: [{ name: 'web', port: 80, servers: [{ name: 'rs1', address: 'rs1.example' }] }] },
    'services[0].servers[0].address',
    /IPv4 or IPv6 address, got 'rs1\.example'/,
  );
  refuses(
    { services: [{ name: 'web', servers: [{ name: 'rs1', address: '198.51.100.11' }] }] },
    'services[0].servers[0].port',
    /port here or on the service, got undefined/,
  );
  refuses(
    {
      services: [
        {
          name: 'web',
          port: 80,
          servers: [
            { name: 'rs1', address: '198.51.100.11' },
            { name: 'rs1', address: '198.51.100.12' },
          ],
        },
      ],
    },
    'services[0].servers[1].name',
    /must be unique, got 'rs1'/,
  );
  refuses(
    { services: [{ name: 'web', quorum: 1, quorumHysteresis: 2 }] },
    'services[0].quorumHysteresis',
    /at most the quorum \(1\), got 2/,
  );
  refuses({ services: [{ name: 'we b' }] }, 'services[0].name', /got 'we b'/);
});

bad('top level and alerts', () => {
  refuses({ servises: [] }, 'servises', /not a known field/);
  refuses(
    { alerts: { syslog: { host: '127.0.0.1', facility: 'mars' } } },
    'alerts.syslog.facility',
    /syslog facility/,
  );
  refuses({ self: { links: [{ role: 'uplink', link: 'eth0' }] } }, 'self.links[0].role', /got 'uplink'/);
  assert.throws(
    () => resolveConfig('not an object'),
    (e: unknown) => MonitorError.is(e, 'MONITOR_INVALID_CONFIG'),
  );
});

bad.run();
