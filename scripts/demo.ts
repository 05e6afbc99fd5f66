/**
 * The product demo (README quick start). For now it shows the simulated twin-appliance testbed:
 *   1. bring the pair up (namespaces, switch, heartbeat link, serial cable, real servers),
 *   2. A <-> B over the heartbeat Ethernet link (ping both ways),
 *   3. A <-> B over the serial null-modem cable (a line each way through the pty pair),
 *   4. the client reaching every real server over HTTP,
 *   5. tear everything down (also on Ctrl-C).
 * Until a cluster owns the VIP, the client reaches the real servers through appliance A's own addresses:
 * interim routes (client: 198.51.100.0/24 via A; real servers: 192.0.2.0/24 via A), plain forwarding,
 * no NAT. They leave the reserved VIP and server-side gateway untouched; the forwarding issue replaces
 * them with the client going to the VIP.
 * Options: --prefix P (default TANDEM_SIM_PREFIX or tnd), --real-servers N, --keep (leave it up).
 */
import { parseArgs } from 'node:util';
import { down } from '../board/sim/testbed/down.ts';
import { run } from '../board/sim/testbed/exec.ts';
import { httpGet } from '../board/sim/testbed/http-probe.ts';
import { clearInterimRoutes, routeClientThrough } from '../board/sim/testbed/interim-routes.ts';
import { exchangeLines } from '../board/sim/testbed/serial-probe.ts';
import { status } from '../board/sim/testbed/status.ts';
import { checkPrefix, DEFAULT_PREFIX, nodeNamespace, type Topology } from '../board/sim/testbed/topology.ts';
import { up } from '../board/sim/testbed/up.ts';

const say = (line: string): void => console.log(line);

function options() {
  try {
    const { values } = parseArgs({
      options: {
        prefix: { type: 'string' },
        'real-servers': { type: 'string' },
        keep: { type: 'boolean', default: false },
      },
      strict: true,
    });
    const count = values['real-servers'];
    if (count !== undefined && !/^\d+$/.test(count))
      throw new Error(`--real-servers "${count}" is not a whole number`);
    return {
      prefix: checkPrefix(values.prefix ?? process.env.TANDEM_SIM_PREFIX ?? DEFAULT_PREFIX),
      realServers: count === undefined ? undefined : Number(count),
      keep: values.keep,
    };
  } catch (err) {
    console.error(`demo: ${err instanceof Error ? err.message : err}`);
    console.error('usage: scripts/demo [--prefix P] [--real-servers N] [--keep]');
    process.exit(2);
  }
}

async function ping(topology: Topology, from: 'a' | 'b', to: 'a' | 'b', signal: AbortSignal): Promise<void> {
  const target = topology.addresses[to].heartbeat;
  const { stdout } = await run(
    ['ip', 'netns', 'exec', nodeNamespace(topology, from), 'ping', '-c', '3', '-i', '0.2', '-W', '1', target],
    {
      signal,
    },
  );
  const received = /(\d+) received/.exec(stdout)?.[1] ?? '?';
  const avg = /= [\d.]+\/([\d.]+)\//.exec(stdout)?.[1] ?? '?';
  say(
    `      ${from.toUpperCase()} -> ${to.toUpperCase()}: ping ${target} over hb0: ${received}/3 replies, avg ${avg} ms`,
  );
}

async function demo(topology: Topology, signal: AbortSignal): Promise<void> {
  say('[2/5] A <-> B over the heartbeat Ethernet link (veth hb0, 203.0.113.0/30)');
  await ping(topology, 'a', 'b', signal);
  await ping(topology, 'b', 'a', signal);

  say('[3/5] A <-> B over the serial null-modem cable (socat pty pair)');
  const lines = { a: 'hello B, this is A on the serial cable', b: 'hello A, this is B on the serial cable' };
  const got = await exchangeLines(topology.serial, lines, { signal });
  say(`      A wrote on ${topology.serial.a}; B read: "${got.atB}"`);
  say(`      B wrote on ${topology.serial.b}; A read: "${got.atA}"`);

  say('[4/5] client -> real servers over HTTP');
  say('      (no cluster owns the VIP yet, so the client routes through appliance A, which forwards)');
  await routeClientThrough(topology, 'a');
  const client = nodeNamespace(topology, 'client');
  const first = topology.realServers[0];
  if (first) {
    const { stdout } = await run(['ip', '-n', client, 'route', 'get', first.address], { signal });
    say(`      client's route: ${(stdout.split('\n')[0] ?? '').replace(/ uid \d+/, '').trim()}`);
  }
  for (const rs of topology.realServers) {
    const answer = await httpGet(client, { host: rs.address, port: rs.port }, { signal });
    const ok = answer.status === 200 && answer.body === `${rs.name}\n`;
    say(
      `      GET http://${rs.address}/ -> ${answer.status} "${answer.body.trim()}"${ok ? '' : '  (unexpected!)'}`,
    );
    if (!ok)
      throw new Error(`real server ${rs.name} answered ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  await clearInterimRoutes(topology);
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('demo: needs root (it builds network namespaces); run it as root');
    return 1;
  }
  const opts = options();
  const controller = new AbortController();
  let tearingDown = false;
  process.on('SIGINT', () => {
    if (tearingDown) say('      (still tearing down; one moment)');
    else {
      say('\ninterrupted: tearing down');
      controller.abort();
    }
  });

  const before = await status({
    prefix: opts.prefix,
    ...(opts.realServers ? { realServers: opts.realServers } : {}),
  });
  const keep = opts.keep || before.whole;
  let failed = false;
  try {
    say(`[1/5] bringing the simulated pair up (testbed ${opts.prefix})`);
    if (before.whole)
      say(`      testbed ${opts.prefix} was already up: using it, and leaving it up afterwards`);
    const { topology } = await up({
      prefix: opts.prefix,
      ...(opts.realServers ? { realServers: opts.realServers } : {}),
      signal: controller.signal,
    });
    const a = topology.addresses.a;
    const b = topology.addresses.b;
    say(`      namespaces: ${topology.nodes.map((n) => n.ns).join(' ')}`);
    say(`      A: client0 ${a.client}, server0 ${a.server}, hb0 ${a.heartbeat}`);
    say(`      B: client0 ${b.client}, server0 ${b.server}, hb0 ${b.heartbeat}`);
    say(
      `      client ${topology.addresses.client}; real servers ${topology.realServers.map((r) => `${r.name} ${r.address}`).join(', ')}`,
    );
    await demo(topology, controller.signal);
  } catch (err) {
    failed = true;
    if (!controller.signal.aborted) console.error(`demo failed: ${err instanceof Error ? err.message : err}`);
  } finally {
    tearingDown = true;
    if (keep) {
      say(
        `[5/5] leaving testbed ${opts.prefix} up: try "npm run tandem -- sim status", remove it with "npm run tandem -- sim down"`,
      );
    } else {
      const removed = await down({ prefix: opts.prefix });
      say(
        `[5/5] torn down: removed ${removed.namespaces.length} namespaces and their links, stopped socat and the real servers`,
      );
    }
  }
  if (controller.signal.aborted) return 130;
  if (!failed)
    say('demo finished: A and B reach each other over both cables, and the client reaches every real server');
  return failed ? 1 : 0;
}

process.exit(await main());
