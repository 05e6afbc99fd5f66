/**
 * The supervisor on the testbed: A and B booted by `tandem sim start` (their supervisors running the
 * cluster), a power cut, a graceful stop, a kill -9 of the cluster process and repeated crashes up to the
 * watchdog reset; and the console cable an operator attaches to.
 */
import { constants, openSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { ReadStream, WriteStream } from 'node:tty';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  applianceFiles,
  powerOff,
  powerOn,
  startAppliance,
  stopAppliance,
  supervisorPid,
} from '../../board/sim/testbed/appliance.ts';
import { attachConsole, consoleLinks, DETACH_KEY, ensureConsole } from '../../board/sim/testbed/console.ts';
import { isRunning } from '../../board/sim/testbed/processes.ts';
import { writeProvision } from '../../board/sim/testbed/provision.ts';
import { simBoard } from '../../board/sim.ts';
import { controlRequest } from '../../firmware/cluster/control.ts';
import { runtimePaths } from '../../firmware/runtime/paths.ts';
import type { SupervisorStatus } from '../../firmware/supervisor/supervisor.ts';
import { holders, onlyOn, waitFor } from '../cluster/integration/support.ts';
import { canRun } from '../support/needs.ts';
import { startTestbed, type Testbed } from '../support/testbed.ts';

// The cluster only: the other services' entry points are someone else's and tested there.
const ARGS = ['--services', 'cluster', '--watchdog-timeout', '4', '--crash-limit', '3'];

async function supervisorStatus(tb: Testbed, node: 'a' | 'b'): Promise<SupervisorStatus> {
  const path = runtimePaths(simBoard({ prefix: tb.prefix, node })).supervisorSocket;
  const answer = (await controlRequest(path, { op: 'status' }, 3000)) as { ok?: SupervisorStatus };
  if (answer.ok === undefined) throw new Error(`supervisor ${node}: ${JSON.stringify(answer)}`);
  return answer.ok;
}

async function cluster(tb: Testbed, node: 'a' | 'b') {
  const s = (await supervisorStatus(tb, node)).services.find((x) => x.name === 'cluster');
  if (s === undefined) throw new Error(`no cluster on ${node}`);
  return s;
}

async function clusterCommand(tb: Testbed, node: 'a' | 'b', command: string): Promise<unknown> {
  const path = runtimePaths(simBoard({ prefix: tb.prefix, node })).clusterSocket;
  return controlRequest(path, { op: 'command', command }, 5000);
}

if (canRun('supervisor on the testbed', { root: true, tools: ['ip', 'socat', 'arping'] })) {
  const pair = suite<{ tb?: Testbed }>('supervisor on the testbed: A and B', {});
  const tbOf = (ctx: { tb?: Testbed }): Testbed => {
    if (!ctx.tb) throw new Error('testbed did not start');
    return ctx.tb;
  };

  pair.before(async (ctx) => {
    try {
      ctx.tb = await startTestbed({ realServers: 1 });
      writeProvision(ctx.tb.topology, { cluster: { initDeadMs: 600 }, garp: { count: 2, intervalMs: 50 } });
      await startAppliance(ctx.tb.topology, 'a', { args: ARGS });
      await startAppliance(ctx.tb.topology, 'b', { args: ARGS });
    } catch (err) {
      console.error(`hook failed: ${err instanceof Error ? err.stack : String(err)}`);
      throw err;
    }
  });
  pair.after(async (ctx) => {
    await ctx.tb?.down();
  });

  pair(
    'A is active and holds the VIP; power-off a → B holds it; power-on a → A boots as standby',
    async (ctx) => {
      const tb = tbOf(ctx);
      await onlyOn(tb, 'a', 10_000);
      const killed = await powerOff(tb.topology, 'a');
      assert.ok(killed.length >= 3, 'the supervisor, the cluster host and its heartbeat process');
      assert.ok(killed.every((pid) => !isRunning(pid)));
      // A's addresses stay on its dead links (as on a box without power); B must hold them too.
      await waitFor(
        'B holds the VIP and the gateway',
        () => holders(tb),
        (h) => h.vip.includes('b') && h.gateway.includes('b'),
        3000,
      );
      await powerOn(tb.topology, 'a', { args: ARGS });
      // On boot A's cluster reconciles its addresses: released, B alone holds them.
      await onlyOn(tb, 'b', 5000);
      const c = await cluster(tb, 'a');
      assert.is(c.state, 'running');
      await waitFor(
        'A standby',
        () =>
          controlRequest(runtimePaths(simBoard({ prefix: tb.prefix, node: 'a' })).clusterSocket, {
            op: 'status',
          }),
        (s) => (s as { ok?: { role?: string } }).ok?.role === 'STANDBY',
      );
      assert.equal((await holders(tb)).vip, ['b'], 'no preemption: B keeps the VIP');
    },
  );

  pair('graceful stop of the active: it hands over, no VIP is left on it', async (ctx) => {
    const tb = tbOf(ctx);
    await clusterCommand(tb, 'b', 'failover');
    await onlyOn(tb, 'a', 5000);
    const pid = await stopAppliance(tb.topology, 'a');
    assert.ok(pid !== undefined && !isRunning(pid), 'the supervisor exited');
    const h = await holders(tb);
    assert.equal(h.vip, ['b']);
    assert.equal(h.gateway, ['b']);
    const left = await tb.exec('a', ['ip', '-o', '-4', 'addr', 'show']);
    assert.not.match(left.stdout, tb.addresses.vip);
  });

  pair(
    'kill -9 of the cluster: the supervisor restarts it; repeated crashes end in a watchdog reset',
    async (ctx) => {
      const tb = tbOf(ctx);
      await startAppliance(tb.topology, 'a', { args: ARGS });
      const supPid = supervisorPid(tb.topology, 'a');
      const first = await cluster(tb, 'a');
      process.kill(first.pid as number, 'SIGKILL');
      const second = await waitFor(
        'the cluster restarted',
        () => cluster(tb, 'a'),
        (s) => s.state === 'running' && s.pid !== first.pid,
        10_000,
        50,
      );
      assert.is(second.restarts, 1);
      assert.is(second.lastExit?.signal, 'SIGKILL');
      // Two more crashes within the minute: failed, the watchdog is no longer fed and bites (4 s).
      process.kill(second.pid as number, 'SIGKILL');
      const third = await waitFor(
        'restarted again',
        () => cluster(tb, 'a'),
        (s) => s.state === 'running' && s.pid !== second.pid,
        10_000,
        50,
      );
      process.kill(third.pid as number, 'SIGKILL');
      await waitFor(
        'the supervisor reset by its watchdog',
        async () => supervisorPid(tb.topology, 'a'),
        (p) => p === undefined,
        10_000,
        100,
      );
      assert.ok(supPid !== undefined && !isRunning(supPid));
      const stdout = readFileSync(applianceFiles(tb.topology, 'a').logFile, 'utf8');
      assert.match(stdout, '3 crashes within');
      assert.match(stdout, 'no longer feeding the watchdog');
      assert.match(stdout, 'watchdog reset');
      assert.equal((await holders(tb)).vip, ['b'], 'B held the VIP throughout');
    },
  );

  pair(
    'the console cable: what the operator types reaches the port and back; Ctrl-] detaches',
    async (ctx) => {
      const tb = tbOf(ctx);
      assert.equal(await ensureConsole(tb.topology, 'a'), [], 'start made it already');
      const links = consoleLinks(tb.topology, 'a');
      const input = new PassThrough();
      const output = new PassThrough();
      let seen = '';
      output.on('data', (c: Buffer) => {
        seen += c.toString();
      });
      const attached = attachConsole(links.operator, {
        input: input as unknown as NodeJS.ReadStream,
        output,
      });
      const fd = openSync(links.port, constants.O_RDWR | constants.O_NOCTTY);
      const fromOperator = new ReadStream(fd);
      fromOperator.setRawMode(true);
      const toOperator = new WriteStream(fd);
      let atPort = '';
      fromOperator.on('data', (c: Buffer) => {
        atPort += c.toString();
      });
      try {
        input.write('show status\r');
        toOperator.write('tandem-a> ');
        await waitFor(
          'both ways',
          async () => [atPort, seen],
          ([p, s]) => p === 'show status\r' && s === 'tandem-a> ',
          3000,
        );
        input.write(Buffer.from([DETACH_KEY]));
        assert.is(await attached, 'detached');
      } finally {
        fromOperator.destroy();
        toOperator.destroy();
      }
    },
  );

  pair.run();
}
