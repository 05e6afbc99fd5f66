/**
 * The appliance commands of `tandem sim`, the testbed's provisioning and process classification, the
 * service table's selection, and the supervisor entry point's usage errors.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSimArgs, UsageError } from '../../board/sim/testbed/cli.ts';
import { classify } from '../../board/sim/testbed/processes.ts';
import { provisionFor } from '../../board/sim/testbed/provision.ts';
import { buildTopology } from '../../board/sim/testbed/topology.ts';
import { parseProcessConfig } from '../../firmware/cluster/process-config.ts';
import { APPLIANCE_SERVICES, selectServices } from '../../firmware/supervisor/services.ts';

const parse = suite('tandem sim: appliance commands');

parse('start, stop, power-off, power-on, console', () => {
  assert.equal(parseSimArgs(['start', 'a']), { kind: 'start', prefix: 'tnd', node: 'a', args: [] });
  assert.equal(parseSimArgs(['start', 'b', '--provision', '/tmp/p.json', '--', '--services', 'cluster']), {
    kind: 'start',
    prefix: 'tnd',
    node: 'b',
    provision: '/tmp/p.json',
    args: ['--services', 'cluster'],
  });
  assert.equal(parseSimArgs(['stop', 'a', '--prefix', 'tnd-x']), {
    kind: 'stop',
    prefix: 'tnd-x',
    node: 'a',
  });
  assert.equal(parseSimArgs(['power-off', 'b']), { kind: 'power-off', prefix: 'tnd', node: 'b' });
  assert.equal(parseSimArgs(['power-on', 'b']), { kind: 'power-on', prefix: 'tnd', node: 'b', args: [] });
  assert.equal(parseSimArgs(['console', 'a']), { kind: 'console', prefix: 'tnd', node: 'a' });
});

parse('bad input names what is wrong', () => {
  const cases: [string[], RegExp][] = [
    [['start'], /start needs an appliance, a or b/],
    [['stop', 'client'], /stop needs an appliance, a or b, not "client"/],
    [['console', 'a', 'b'], /takes one appliance: b/],
    [['stop', 'a', '--provision', 'x'], /stop takes no --provision/],
    [['power-off', 'a', '--', 'x'], /takes nothing after "--"/],
    [['start', 'a', '--real-servers', '2'], /start takes no --real-servers/],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseSimArgs(args),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
      args.join(' '),
    );
  }
});

parse.run();

// ---

const testbed = suite('testbed: provisioning and own processes');

testbed('provisioning is a valid cluster process configuration from the topology', () => {
  const t = buildTopology({ prefix: 'tnd-p', realServers: 2 });
  const a = provisionFor(t, 'a', { cluster: { initDeadMs: 600 } });
  const b = provisionFor(t, 'b');
  const pa = parseProcessConfig(JSON.stringify(a), 'a.json');
  const pb = parseProcessConfig(JSON.stringify(b), 'b.json');
  assert.equal([pa.node, pa.peer, pb.node, pb.peer], ['a', 'b', 'b', 'a']);
  assert.equal(pa.key, pb.key);
  assert.equal(pa.udp, { local: '203.0.113.1', peer: '203.0.113.2', port: 7400 });
  assert.equal(pa.journal.peer, { host: '203.0.113.2', port: 7411 });
  assert.is(pb.journal.peer, undefined, 'B accepts; A dials');
  assert.equal(pa.cluster, { nodeId: 1, priority: 200, initDeadMs: 600 });
  assert.equal(pb.cluster, { nodeId: 2, priority: 100 });
  assert.equal(
    pa.takeover.addresses.map((x) => `${x.link} ${x.cidr}`),
    ['client0 192.0.2.100/24', 'server0 198.51.100.1/24'],
  );
});

testbed('console cables and supervisors are found by command line', () => {
  const state = '/run/tandem-sim/tnd-t5-1';
  const console = [
    'socat',
    `pty,raw,echo=0,link=${state}/console-b`,
    `pty,raw,echo=0,link=${state}/console-b-operator`,
  ];
  assert.equal(classify(20, console, 'tnd-t5-1', state), { pid: 20, role: 'console', node: 'b' });
  const sup = ['/usr/bin/node', '--import', 'tsx', '/w/firmware/supervisor/main.ts', '--board', 'sim'];
  assert.equal(classify(21, [...sup, '--prefix', 'tnd-t5-1', '--node', 'a'], 'tnd-t5-1', state), {
    pid: 21,
    role: 'supervisor',
    node: 'a',
  });
  assert.is(classify(22, [...sup, '--prefix', 'tnd-t5-10', '--node', 'a'], 'tnd-t5-1', state), undefined);
  assert.is(classify(23, [...sup, '--prefix', 'tnd-t5-1', '--node', 'c'], 'tnd-t5-1', state), undefined);
});

testbed.run();

// ---

const table = suite('service table');

table('missing entry points are skipped with one warning, with what needs them', () => {
  const warnings: string[] = [];
  const chosen = selectServices(APPLIANCE_SERVICES, {
    root: join(import.meta.dirname, 'fixtures', 'fake-root'),
    warn: (l) => warnings.push(l),
  });
  assert.equal(chosen, []);
  assert.is(warnings.length, 6);
  assert.is(warnings[0], 'skipping cluster: firmware/cluster/main.ts does not exist (yet)');
  assert.match(warnings[1] ?? '', 'skipping forward');
});

table('--services must name known services with what they need', () => {
  const warn = (): void => {};
  assert.equal(
    selectServices(APPLIANCE_SERVICES, { only: ['cluster'], warn }).map((e) => e.name),
    ['cluster'],
  );
  assert.throws(
    () => selectServices(APPLIANCE_SERVICES, { only: ['monitor'], warn }),
    /monitor needs cluster/,
  );
  assert.throws(() => selectServices(APPLIANCE_SERVICES, { only: ['nope'], warn }), /unknown service nope/);
});

table('the cluster gets the provisioning file and the board options', () => {
  const cluster = APPLIANCE_SERVICES[0];
  const ctx = { boardArgs: ['--board', 'sim', '--prefix', 'tnd', '--node', 'a'], clusterSocket: '/x' };
  assert.equal(cluster?.args({ ...ctx, provision: '/p.json' }), ['--config', '/p.json', ...ctx.boardArgs]);
  assert.throws(() => cluster?.args({ ...ctx, provision: undefined }), /--provision <file>/);
  assert.equal(APPLIANCE_SERVICES[2]?.args({ ...ctx, provision: '/p.json' }), ctx.boardArgs);
});

table.run();

// ---

const main = suite('supervisor main: usage errors exit 2');

main('a missing --prefix, an unknown option, a missing provisioning file', () => {
  const entry = join(import.meta.dirname, '..', '..', 'firmware', 'supervisor', 'main.ts');
  const runMain = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', entry, ...args], { encoding: 'utf8', timeout: 30_000 });
  const noPrefix = runMain(['--board', 'sim']);
  assert.is(noPrefix.status, 2);
  assert.match(noPrefix.stderr, '--board sim needs --prefix');
  const unknown = runMain(['--board', 'sim', '--prefix', 'tnd', '--node', 'a', '--bogus']);
  assert.is(unknown.status, 2);
  assert.match(unknown.stderr, 'bogus');
  const noFile = runMain([
    '--board',
    'sim',
    '--prefix',
    'tnd',
    '--node',
    'a',
    '--provision',
    '/nonexistent.json',
  ]);
  assert.is(noFile.status, 2);
  assert.match(noFile.stderr, '--provision /nonexistent.json: no such file');
});

main.run();
