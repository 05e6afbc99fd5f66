/**
 * Every check kind against real servers on the testbed, probing from the appliance's namespace (a child
 * process there runs the checks as the monitor would, aborting each at its timeout): the testbed's real
 * servers on :80, and a farm of controllable servers (HTTP, HTTPS with a self-signed certificate made
 * here, raw TCP, DNS) in rs1's namespace.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckTarget, ProbeResult } from '../../firmware/monitor/checks/types.ts';
import { canRun } from '../support/needs.ts';
import { startTestbed, type Testbed } from '../support/testbed.ts';
import type { LineChild } from './support/line-child.ts';
import { makeCertificate, startCheckRunner, startFarm } from './support/testbed-helpers.ts';

const RS1 = '198.51.100.11';
const SILENT = '198.51.100.99';
const HTTP = 8001;
const HTTPS = 8443;
const TCP = 9000;
const CLOSED = 9999;
const DNS = 5353;

interface World {
  tb: Testbed;
  farm: LineChild;
  runner: LineChild;
  dir: string;
  certPath: string;
}

interface Outcome {
  result: ProbeResult;
  ms: number;
  aborted: boolean;
}

let world: Promise<World> | undefined;

async function build(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'tnd-monitor-'));
  const tb = await startTestbed({ realServers: 2 });
  const { cert, key, certPath } = makeCertificate(dir, 'rs1.test');
  const [farm, runner] = await Promise.all([startFarm(tb.ns('rs1')), startCheckRunner(tb.ns('a'))]);
  await farm.call({ op: 'listen', host: RS1, ports: [HTTP], mode: 'http' });
  await farm.call({ op: 'listen', host: RS1, ports: [HTTPS], mode: 'https', cert, key });
  await farm.call({ op: 'listen', host: RS1, ports: [TCP], mode: 'tcp' });
  await farm.call({ op: 'dns', host: RS1, port: DNS });
  await farm.call({ op: 'records', name: 'www.example.test', type: 'A', data: ['192.0.2.80', '192.0.2.81'] });
  await farm.call({ op: 'records', name: 'www.example.test', type: 'TXT', data: ['hello world'] });
  return { tb, farm, runner, dir, certPath };
}

const get = (): Promise<World> => {
  world ??= build();
  return world;
};

const target = (port = 80, address = RS1): CheckTarget => ({ service: 'web', server: 'rs1', address, port });

async function probe(
  check: Record<string, unknown>,
  t: CheckTarget = target(),
  timeoutMs = 1000,
): Promise<Outcome> {
  const { runner } = await get();
  return (await runner.call({ check, target: t, timeoutMs })) as unknown as Outcome;
}

function ok(o: Outcome): void {
  assert.ok(o.result.ok, `expected ok, got ${JSON.stringify(o.result)}`);
}

function fails(o: Outcome, pattern: RegExp): void {
  assert.is(o.result.ok, false, `expected a failure, got ${JSON.stringify(o.result)}`);
  if (!o.result.ok) assert.match(o.result.reason, pattern);
}

/** Runs `body` while the farm's `port` answers as `behaviour` says; the port answers plainly again after. */
async function behaving(
  port: number,
  behaviour: Record<string, unknown>,
  body: () => Promise<void>,
): Promise<void> {
  const { farm } = await get();
  await farm.call({ op: 'behave', port, ...behaviour });
  try {
    await body();
  } finally {
    await farm.call({ op: 'behave', port });
  }
}

async function teardown(): Promise<void> {
  if (!world) return;
  const w = await world.catch(() => undefined);
  world = undefined;
  if (!w) return;
  await Promise.all([w.farm.dispose(), w.runner.dispose()]);
  await w.tb.down();
  rmSync(w.dir, { recursive: true, force: true });
}

if (canRun('monitor checks on the testbed', { root: true, tools: ['ip', 'socat', 'openssl'] })) {
  // ---
  const tcp = suite('tcp check');
  tcp.before(async () => {
    await get();
  });
  tcp('up: the real server accepts on :80', async () => ok(await probe({ kind: 'tcp' })));
  tcp('up: a farm port given in the spec', async () => ok(await probe({ kind: 'tcp', port: TCP })));
  tcp('down: a closed port is refused at once', async () => {
    const o = await probe({ kind: 'tcp' }, target(CLOSED));
    fails(o, /ECONNREFUSED/);
    assert.ok(o.ms < 500, `took ${o.ms} ms`);
  });
  tcp('down: an address nobody has times out at the timeout', async () => {
    const o = await probe({ kind: 'tcp' }, target(80, SILENT), 300);
    fails(o, /timed out/);
    assert.ok(o.ms >= 290 && o.ms < 800, `took ${o.ms} ms`);
  });
  tcp.run();

  // ---
  const http = suite('http check');
  http('up: GET / answers the server name (body regex)', async () => {
    ok(await probe({ kind: 'http', bodyRegex: '^rs1\\n$' }));
  });
  http('up: /health with status 200 only', async () => {
    ok(await probe({ kind: 'http', path: '/health', expectStatus: [200] }));
  });
  http('wrong status: 404 when 200-299 is expected', async () => {
    fails(await probe({ kind: 'http', path: '/nope' }), /answered 404, expected 200-299/);
  });
  http('an expected 404 is fine', async () =>
    ok(await probe({ kind: 'http', path: '/nope', expectStatus: [404, '500-599'] })),
  );
  http('wrong body: rs1 does not answer rs2', async () => {
    fails(await probe({ kind: 'http', bodyRegex: '^rs2' }), /does not match/);
  });
  http('body digest: right and wrong', async () => {
    const md5 = createHash('md5').update('rs1\n').digest('hex');
    ok(await probe({ kind: 'http', bodyDigest: `md5:${md5}` }));
    const sha = createHash('sha256').update('rs2\n').digest('hex');
    fails(
      await probe({ kind: 'http', bodyDigest: `sha256:${sha}` }),
      /body digest is sha256:[0-9a-f]{64}, expected/,
    );
  });
  http('Host header is sent', async () => {
    ok(
      await probe({
        kind: 'http',
        port: HTTP,
        host: 'www.example.test',
        bodyRegex: 'host=www\\.example\\.test\\n$',
      }),
    );
    ok(await probe({ kind: 'http', port: HTTP, bodyRegex: `host=${RS1.replace(/\./g, '\\.')}:${HTTP}\\n$` }));
  });
  http('slow: an answer later than the timeout fails at the timeout', () =>
    behaving(HTTP, { delayMs: 1500 }, async () => {
      const o = await probe({ kind: 'http', port: HTTP }, target(), 300);
      fails(o, /timed out/);
      assert.ok(o.ms < 700, `took ${o.ms} ms`);
      ok(await probe({ kind: 'http', port: HTTP }, target(), 2500));
    }),
  );
  http('server error status from the farm', () =>
    behaving(HTTP, { status: 503 }, async () => {
      fails(await probe({ kind: 'http', port: HTTP }), /answered 503/);
    }),
  );
  http('down: nothing listens', async () =>
    fails(await probe({ kind: 'http' }, target(CLOSED)), /ECONNREFUSED/),
  );
  http('HEAD request', async () => ok(await probe({ kind: 'http', method: 'HEAD', path: '/health' })));

  const connectionsTo = async (port: number): Promise<number> => {
    const { farm } = await get();
    return Number((await farm.call({ op: 'count', port })).connections);
  };
  const closeIdle = async (): Promise<number> => {
    const { runner } = await get();
    return Number((await runner.call({ closeIdle: true })).closed);
  };
  const keptAlive = { kind: 'http', port: HTTP, keepAlive: true };

  http('keepAlive: probes share one connection, judged as ever (status, body)', async () => {
    await closeIdle();
    const before = await connectionsTo(HTTP);
    ok(await probe(keptAlive));
    ok(await probe({ ...keptAlive, bodyRegex: '^farm 8001 host=' }));
    fails(await probe({ ...keptAlive, bodyRegex: '^nope' }), /does not match/);
    ok(await probe({ ...keptAlive, method: 'HEAD' }));
    assert.is((await connectionsTo(HTTP)) - before, 1);
    assert.is(await closeIdle(), 1, 'the connection waited for the next probe');
  });
  http(
    'keepAlive: a reset on the reused connection before any answer is retried on a fresh one',
    async () => {
      await closeIdle();
      await behaving(HTTP, { resetReused: true }, async () => {
        const before = await connectionsTo(HTTP);
        ok(await probe(keptAlive));
        ok(await probe(keptAlive));
        ok(await probe(keptAlive));
        assert.is((await connectionsTo(HTTP)) - before, 3, 'each reused connection was reset and replaced');
      });
      await closeIdle();
    },
  );
  http('keepAlive: a server answering "Connection: close" gets a new connection every time', async () => {
    await closeIdle();
    await behaving(HTTP, { close: true }, async () => {
      const before = await connectionsTo(HTTP);
      ok(await probe(keptAlive));
      ok(await probe(keptAlive));
      assert.is((await connectionsTo(HTTP)) - before, 2);
      assert.is(await closeIdle(), 0);
    });
  });
  http('keepAlive: a connection is not kept after a timeout', async () => {
    await closeIdle();
    await behaving(HTTP, { delayMs: 1500 }, async () => {
      fails(await probe(keptAlive, target(), 300), /timed out/);
      assert.is(await closeIdle(), 0);
    });
  });
  http('without keepAlive every probe connects afresh and nothing waits', async () => {
    await closeIdle();
    const before = await connectionsTo(HTTP);
    ok(await probe({ kind: 'http', port: HTTP }));
    ok(await probe({ kind: 'http', port: HTTP }));
    assert.is((await connectionsTo(HTTP)) - before, 2);
    assert.is(await closeIdle(), 0);
  });
  http.run();

  // ---
  const https = suite('https check');
  https('TLS without verification; SNI from the Host header', async () => {
    ok(await probe({ kind: 'https', port: HTTPS, host: 'rs1.test', bodyRegex: 'sni=rs1\\.test\\n$' }));
  });
  https('explicit SNI', async () => {
    ok(await probe({ kind: 'https', port: HTTPS, sni: 'other.test', bodyRegex: 'sni=other\\.test\\n$' }));
  });
  https('verified against the self-signed certificate as CA', async () => {
    const { certPath } = await get();
    ok(
      await probe({ kind: 'https', port: HTTPS, sni: 'rs1.test', verifyCertificate: true, caFile: certPath }),
    );
  });
  https('verification fails for another name', async () => {
    const { certPath } = await get();
    const o = await probe({
      kind: 'https',
      port: HTTPS,
      sni: 'wrong.test',
      verifyCertificate: true,
      caFile: certPath,
    });
    fails(o, /altnames|does not match/i);
  });
  https('verification fails without the CA (self-signed)', async () => {
    fails(
      await probe({ kind: 'https', port: HTTPS, sni: 'rs1.test', verifyCertificate: true }),
      /self[- ]signed/i,
    );
  });
  https('plain HTTP port spoken to with TLS fails', async () => {
    fails(await probe({ kind: 'https', port: HTTP }), /./);
  });
  https('keepAlive: probes share one TLS connection; a reset one is replaced within the probe', async () => {
    await closeIdle();
    const keptTls = { kind: 'https', port: HTTPS, keepAlive: true, host: 'rs1.test' };
    const before = await connectionsTo(HTTPS);
    ok(await probe(keptTls));
    ok(await probe({ ...keptTls, bodyRegex: 'sni=rs1\\.test\\n$' }));
    assert.is((await connectionsTo(HTTPS)) - before, 1);
    await behaving(HTTPS, { resetReused: true }, async () => {
      ok(await probe(keptTls));
      assert.is((await connectionsTo(HTTPS)) - before, 2);
    });
    const { certPath } = await get();
    ok(await probe({ ...keptTls, sni: 'rs1.test', verifyCertificate: true, caFile: certPath }));
    assert.is((await connectionsTo(HTTPS)) - before, 3, 'a verifying check does not share an unverified one');
    assert.is(await closeIdle(), 2);
  });
  https.run();

  // ---
  const icmp = suite('icmp check');
  icmp('up: rs1 answers echo', async () => ok(await probe({ kind: 'icmp' }, target(0))));
  icmp('down: no echo reply within the timeout', async () => {
    const o = await probe({ kind: 'icmp' }, target(0, SILENT), 300);
    fails(o, /no echo reply/);
  });
  icmp.run();

  // ---
  const dns = suite('dns check');
  dns('A records with expected answers', async () => {
    ok(await probe({ kind: 'dns', port: DNS, name: 'www.example.test', expectAnswers: ['192.0.2.81'] }));
  });
  dns('TXT record', async () => {
    ok(
      await probe({
        kind: 'dns',
        port: DNS,
        name: 'www.example.test',
        type: 'TXT',
        expectAnswers: ['hello world'],
      }),
    );
  });
  dns('missing expected answer', async () => {
    fails(
      await probe({ kind: 'dns', port: DNS, name: 'www.example.test', expectAnswers: ['192.0.2.99'] }),
      /lack 192\.0\.2\.99/,
    );
  });
  dns('NXDOMAIN is a failure unless expected', async () => {
    fails(
      await probe({ kind: 'dns', port: DNS, name: 'nope.example.test' }),
      /answered NXDOMAIN, expected NOERROR/,
    );
    ok(await probe({ kind: 'dns', port: DNS, name: 'nope.example.test', expectRcode: 'NXDOMAIN' }));
  });
  dns('no DNS server: times out', async () => {
    fails(await probe({ kind: 'dns', port: 5399, name: 'www.example.test' }, target(), 300), /timed out/);
  });
  dns.run();

  // ---
  const script = suite('script check');
  const file = async (name: string, text: string): Promise<string> => {
    const { dir } = await get();
    const path = join(dir, name);
    writeFileSync(path, text);
    chmodSync(path, 0o755);
    return path;
  };
  /** Whether `pid` still runs (a zombie waiting for its reaper does not), given up to 1 s to go. */
  const alive = async (pid: number): Promise<boolean> => {
    for (let i = 0; i < 20; i++) {
      let state: string | undefined;
      try {
        state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
      } catch {
        return false;
      }
      if (state === 'Z') return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return true;
  };
  script('exit 0 is up; the target is in the environment and arguments', async () => {
    const { dir } = await get();
    const out = join(dir, 'env.txt');
    const path = await file(
      'ok.sh',
      `#!/bin/sh\necho "$TANDEM_SERVICE $TANDEM_SERVER $TANDEM_ADDRESS $TANDEM_PORT $1 $EXTRA" > ${out}\n`,
    );
    ok(await probe({ kind: 'script', path, args: ['{address}:{port}'], env: { EXTRA: 'x' } }));
    assert.is(readFileSync(out, 'utf8').trim(), `web rs1 ${RS1} 80 ${RS1}:80 x`);
  });
  script('a script that probes from the appliance namespace (curl-less: uses the tcp of bash)', async () => {
    const path = await file('probe.sh', '#!/bin/bash\nexec 3<>/dev/tcp/$TANDEM_ADDRESS/$TANDEM_PORT\n');
    ok(await probe({ kind: 'script', path }));
    fails(await probe({ kind: 'script', path }, target(CLOSED)), /exit code 1/);
  });
  script('non-zero exit is down, with what it said', async () => {
    const path = await file('bad.sh', '#!/bin/sh\necho "backend unhappy" >&2\nexit 3\n');
    fails(await probe({ kind: 'script', path }), /exit code 3: backend unhappy/);
  });
  script('a missing program is down', async () => {
    fails(await probe({ kind: 'script', path: '/nonexistent/check' }), /could not start/);
  });
  script('a hung script is killed at its timeout with its whole group (SIGTERM)', async () => {
    const { dir } = await get();
    const pids = join(dir, 'hung.pids');
    const path = await file('hung.sh', `#!/bin/sh\nsleep 30 &\necho $$ $! > ${pids}\nwait\n`);
    const o = await probe({ kind: 'script', path, killGraceMs: 2000 }, target(), 300);
    fails(o, /timed out \(killed by SIGTERM after terminating\)/);
    assert.ok(o.ms < 1000, `took ${o.ms} ms`);
    for (const pid of readFileSync(pids, 'utf8').trim().split(' ').map(Number))
      assert.not.ok(await alive(pid), `pid ${pid} survived`);
  });
  script('a script ignoring SIGTERM gets SIGKILL after the grace', async () => {
    const { dir } = await get();
    const pids = join(dir, 'stubborn.pids');
    const path = await file(
      'stubborn.sh',
      `#!/bin/sh\ntrap '' TERM\nsleep 30 &\necho $$ $! > ${pids}\nwait\nwait\n`,
    );
    const o = await probe({ kind: 'script', path, killGraceMs: 200 }, target(), 300);
    fails(o, /killed by SIGKILL after terminating → killing/);
    assert.ok(o.ms >= 450 && o.ms < 1500, `took ${o.ms} ms`);
    for (const pid of readFileSync(pids, 'utf8').trim().split(' ').map(Number))
      assert.not.ok(await alive(pid), `pid ${pid} survived`);
  });
  script.run();

  // ---
  const maintenance = suite('maintenance check');
  maintenance('a flag file per server puts it in maintenance', async () => {
    const { dir } = await get();
    const flags = join(dir, 'maint');
    mkdirSync(flags, { recursive: true });
    const check = { kind: 'maintenance', path: `${flags}/{server}` };
    ok(await probe(check));
    writeFileSync(join(flags, 'rs1'), '');
    fails(await probe(check), /maintenance: file .*\/maint\/rs1 exists/);
    rmSync(join(flags, 'rs1'));
    mkdirSync(join(flags, 'rs1'));
    fails(await probe(check), /maintenance: directory/);
    rmSync(join(flags, 'rs1'), { recursive: true });
    ok(await probe(check));
    assert.not.ok(existsSync(join(flags, 'rs1')));
  });
  maintenance.after(teardown);
  maintenance.run();
}
