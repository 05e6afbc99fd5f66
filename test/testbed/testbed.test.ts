import { existsSync, rmSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../../board/sim/testbed/exec.ts';
import { listNetns } from '../../board/sim/testbed/netns.ts';
import { isRunning, ownProcesses } from '../../board/sim/testbed/processes.ts';
import { exchangeLines } from '../../board/sim/testbed/serial-probe.ts';
import { canRun } from '../support/needs.ts';
import { startTestbed, type Testbed } from '../support/testbed.ts';

/** Nothing of the testbed `prefix` is left: no namespace, no socat or real server, no state dir. */
async function assertGone(bed: Testbed, pids: readonly number[]): Promise<void> {
  const left = (await listNetns()).filter((ns) => ns.startsWith(`${bed.prefix}-`));
  assert.equal(left, [], 'namespaces left');
  assert.equal(ownProcesses(bed.prefix, bed.topology.stateDir), [], 'processes left');
  for (const pid of pids) assert.not.ok(isRunning(pid), `pid ${pid} still running`);
  assert.not.ok(existsSync(bed.topology.stateDir), 'state dir left');
}

/** What of ours shows in the host namespace: links with our names, our addresses, routes to our nets. */
async function oursInHost(): Promise<string[]> {
  const [links, addrs, routes] = await Promise.all([
    run(['ip', '-o', 'link', 'show']),
    run(['ip', '-o', '-4', 'addr', 'show']),
    run(['ip', '-4', 'route', 'show']),
  ]);
  // The host's own uplink may sit in 192.0.2.0/24 too (it does on the dev machines); ours never leave
  // the namespaces, so look for our interface names and for the other two ranges.
  return [
    ...links.stdout.split('\n').filter((l) => /^\d+: (hb0|client0|server0|br-client|br-server)[@:]/.test(l)),
    ...addrs.stdout.split('\n').filter((l) => /198\.51\.100\.|203\.0\.113\./.test(l)),
    ...routes.stdout.split('\n').filter((l) => /198\.51\.100\.|203\.0\.113\.|192\.0\.2\.100/.test(l)),
  ];
}

if (canRun('testbed', { root: true, tools: ['ip', 'socat'] })) {
  const whole = suite<{ bed?: Testbed }>('testbed: up, use, break, down', {});

  whole.before(async (ctx) => {
    ctx.bed = await startTestbed({ realServers: 3 });
  });
  whole.after(async (ctx) => {
    await ctx.bed?.down();
  });
  const bedOf = (ctx: { bed?: Testbed }): Testbed => {
    if (!ctx.bed) throw new Error('testbed did not start');
    return ctx.bed;
  };

  whole('status is whole, and the host namespace is untouched', async (ctx) => {
    const bed = bedOf(ctx);
    const report = await bed.status();
    assert.equal(
      report.checks.filter((c) => !c.ok),
      [],
    );
    assert.ok(report.whole);
    assert.equal(await oursInHost(), []);
  });

  whole('up again changes nothing and keeps the same processes', async (ctx) => {
    const bed = bedOf(ctx);
    const before = ownProcesses(bed.prefix, bed.topology.stateDir).map((p) => p.pid);
    const again = await bed.up();
    assert.equal(again.changes, []);
    assert.equal(
      ownProcesses(bed.prefix, bed.topology.stateDir).map((p) => p.pid),
      before,
    );
  });

  whole('A and B ping each other over hb0', async (ctx) => {
    const bed = bedOf(ctx);
    const aToB = await bed.exec('a', ['ping', '-c', '1', '-W', '2', '-I', 'hb0', bed.addresses.b.heartbeat]);
    assert.match(aToB.stdout, '1 received');
    const bToA = await bed.exec('b', ['ping', '-c', '1', '-W', '2', '-I', 'hb0', bed.addresses.a.heartbeat]);
    assert.match(bToA.stdout, '1 received');
  });

  whole('the serial cable carries bytes both ways', async (ctx) => {
    const bed = bedOf(ctx);
    const got = await exchangeLines(bed.serial, { a: 'A to B \u00e9\u00e8 1234', b: 'B to A 5678' });
    assert.is(got.atB, 'A to B \u00e9\u00e8 1234');
    assert.is(got.atA, 'B to A 5678');
  });

  whole('the client reaches every real server (through A for now), each answering its name', async (ctx) => {
    const bed = bedOf(ctx);
    await bed.routeClientThrough('a');
    try {
      for (const rs of bed.realServers) {
        const answer = await bed.httpGet('client', { host: rs.address });
        assert.is(answer.status, 200, rs.name);
        assert.is(answer.body, `${rs.name}\n`);
        assert.is(answer.headers['x-real-server'], rs.name);
      }
      const bytes = await bed.httpGet('client', {
        host: bed.realServers[0]?.address ?? '',
        path: '/bytes/100000',
      });
      assert.is(bytes.body.length, 100000);
    } finally {
      await bed.clearInterimRoutes();
    }
    const route = await bed.exec('client', ['ip', 'route', 'show', '198.51.100.0/24']);
    assert.is(route.stdout.trim(), '', 'interim route removed');
  });

  whole('a real server killed with -9 shows in status, and up restarts it', async (ctx) => {
    const bed = bedOf(ctx);
    const victim = ownProcesses(bed.prefix, bed.topology.stateDir).find(
      (p) => p.role === 'realserver' && p.name === 'rs2',
    );
    assert.ok(victim, 'rs2 is running');
    process.kill(victim.pid, 'SIGKILL');
    const report = await bed.status();
    assert.not.ok(report.whole);
    const failing = report.checks.filter((c) => !c.ok);
    assert.equal(
      failing.map((c) => `${c.area} ${c.name}`),
      ['realserver rs2'],
    );
    const repaired = await bed.up();
    assert.equal(repaired.changes.length, 1);
    assert.match(repaired.changes[0] ?? '', 'real server rs2');
    assert.ok((await bed.status()).whole);
  });

  whole('down leaves no namespace, socat, real server or state dir of this prefix', async (ctx) => {
    const bed = bedOf(ctx);
    const pids = ownProcesses(bed.prefix, bed.topology.stateDir).map((p) => p.pid);
    assert.is(pids.length, 4, 'socat and three real servers');
    const result = await bed.down();
    assert.is(result.namespaces.length, 7);
    await assertGone(bed, pids);
    assert.equal((await bed.down()).namespaces, [], 'a second down finds nothing');
  });

  whole.run();

  // ---

  const crash = suite<{ bed?: Testbed }>('testbed: after a crash', {});

  crash.after(async (ctx) => {
    await ctx.bed?.down();
  });

  crash('up completes a half-built testbed; down cleans up without the state dir', async (ctx) => {
    const bed = await startTestbed({ realServers: 1 });
    ctx.bed = bed;
    // A crash half-way: a namespace, the heartbeat cable and the serial cable's socat are gone.
    await run(['ip', '-n', bed.ns('a'), 'link', 'del', 'hb0']);
    await run(['ip', 'netns', 'delete', bed.ns('client')]);
    const socat = ownProcesses(bed.prefix, bed.topology.stateDir).find((p) => p.role === 'serial');
    if (socat) process.kill(socat.pid, 'SIGKILL');
    assert.not.ok((await bed.status()).whole);
    const repaired = await bed.up();
    assert.ok(repaired.changes.some((c) => c.startsWith('network:')));
    assert.ok(repaired.changes.some((c) => c.startsWith('serial cable')));
    assert.ok((await bed.status()).whole);

    const pids = ownProcesses(bed.prefix, bed.topology.stateDir).map((p) => p.pid);
    rmSync(bed.topology.stateDir, { recursive: true, force: true });
    const result = await bed.down();
    assert.is(result.namespaces.length, 5);
    assert.is(result.processes.length, 2, 'socat and rs1, found without PID files');
    await assertGone(bed, pids);
  });

  crash.run();
}
