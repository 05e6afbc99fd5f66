/**
 * The console as the supervisor runs it on the simulated pair: logged in over A's console cable, it shows
 * the live cluster (roles, heartbeat links), the monitor's view of the servers and the traffic, and its
 * failover command hands the VIP to B.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAppliance } from '../../board/sim/testbed/appliance.ts';
import { consoleLinks } from '../../board/sim/testbed/console.ts';
import { LinuxSerialDriver } from '../../hal/serial/linux.ts';
import { DEMO_PASSWORD, DEMO_USER, demoConfig } from '../../scripts/lib/demo-config.ts';
import { clusterStatus, commitConfig } from '../../scripts/lib/pair.ts';
import { TerminalClient } from '../console/support/terminal.ts';
import { login } from '../console/support/world.ts';
import { canRun } from '../support/needs.ts';
import { startTestbed, type Testbed } from '../support/testbed.ts';

interface Ctx {
  tb: Testbed;
  term: TerminalClient;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

if (canRun('the appliance console on the testbed', { root: true, tools: ['ip', 'socat', 'nft', 'arping'] })) {
  const appliance = suite<Ctx>('the console of a running appliance');

  appliance.before(async (ctx) => {
    ctx.tb = await startTestbed({ realServers: 2 });
    const topology = ctx.tb.topology;
    await startAppliance(topology, 'a');
    await until('A ACTIVE', async () =>
      (await clusterStatus(topology, 'a'))?.role === 'ACTIVE' ? true : undefined,
    );
    await startAppliance(topology, 'b');
    await until('B STANDBY', async () =>
      (await clusterStatus(topology, 'b'))?.role === 'STANDBY' ? true : undefined,
    );
    await commitConfig(topology, await demoConfig(topology), { author: 'test', comment: 'the demo service' });
    ctx.term = await TerminalClient.open(new LinuxSerialDriver(), consoleLinks(topology, 'a').operator);
  });

  appliance.after(async (ctx) => {
    await ctx.term?.close();
    await ctx.tb?.down();
  });

  appliance(
    'login, live status, servers, traffic, then failover hands the VIP to B',
    async ({ tb, term }) => {
      assert.is(await login(term, { name: DEMO_USER, password: DEMO_PASSWORD }), 'tandem-a(active)# ');
      const cluster = (await term.run('show cluster')).join('\n');
      assert.match(cluster, /^a\s+active/m);
      assert.match(cluster, /^b\s+standby/m);
      const links = (await term.run('show links')).join('\n');
      // A loaded host can delay the socat cable past the warn time: up or warn, never down.
      assert.match(links, /^serial\s+(up|warn)\s/m);
      assert.match(links, /^eth\s+(up|warn)\s/m);
      await until('the monitor to report both servers up', async () => {
        const servers = (await term.run('show servers')).join('\n');
        return /rs1 .* up\s+up/.test(servers) && /rs2 .* up\s+up/.test(servers) ? true : undefined;
      });
      const served = async (): Promise<true | undefined> =>
        (await tb.httpGet('client', { host: tb.addresses.vip }).then(
          (a) => a.status === 200,
          () => false,
        ))
          ? true
          : undefined;
      await until('the forwarding tables to serve the VIP', served);
      for (let i = 0; i < 4; i++) await served();
      const traffic = await until('traffic counted on web', async () => {
        const out = (await term.run('show services')).join('\n');
        return /web\s.*\d/.test(out) ? out : undefined;
      });
      assert.match(traffic, /web/);

      term.markNow();
      await term.send('failover\r');
      await term.waitFor(/Hand the active role over to the peer\? \[y\/N\]/);
      const out = (await term.run('y', { timeoutMs: 10_000 })).join('\n');
      assert.match(out, /standby/i, out);
      await until('B ACTIVE', async () =>
        (await clusterStatus(tb.topology, 'b'))?.role === 'ACTIVE' ? true : undefined,
      );
      await until('B to serve the VIP', served, 5000);
    },
  );

  appliance.run();
}
