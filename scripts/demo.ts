/**
 * The product demo (README quick start): the simulated pair of appliances with real servers and a client,
 * on this machine, through a scripted scenario with progress output:
 *   1. the testbed up (namespaces, switch, heartbeat link, serial cable, real servers), A and B booted
 *      (each a supervisor with its services), the configuration committed on the ACTIVE and replicated;
 *   2. a client sending requests to the VIP, with live status once a second: who is active, requests/s,
 *      and how they split across the real servers;
 *   3. a real server dies: the monitor takes it out of rotation; it comes back and rejoins;
 *   4. the active appliance loses power: the standby takes over; the first comes back as standby;
 *   5. the failover button on the active's front panel is pressed: a graceful switchover;
 *   6. everything torn down (also on Ctrl-C), unless --keep, which leaves it running and, with
 *      --console a|b, attaches this terminal to that appliance's serial console (Ctrl-] detaches).
 * Options: --prefix P (default TANDEM_SIM_PREFIX or tnd), --real-servers N (2..50, default 3), --keep,
 * --console a|b.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { powerOff, powerOn, startAppliance } from '../board/sim/testbed/appliance.ts';
import { attachConsole, consoleLinks } from '../board/sim/testbed/console.ts';
import { down } from '../board/sim/testbed/down.ts';
import { httpGet } from '../board/sim/testbed/http-probe.ts';
import { ownProcesses } from '../board/sim/testbed/processes.ts';
import { ensureRealServers, pidFileOf } from '../board/sim/testbed/realservers.ts';
import {
  type ApplianceName,
  checkPrefix,
  DEFAULT_PREFIX,
  nodeNamespace,
  type Topology,
} from '../board/sim/testbed/topology.ts';
import { up } from '../board/sim/testbed/up.ts';
import { DEMO_PASSWORD, DEMO_USER, demoConfig } from './lib/demo-config.ts';
import { activeNode, clusterStatus, commitConfig, panelOf } from './lib/pair.ts';

const say = (line: string): void => console.log(line);
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
const other = (n: ApplianceName): ApplianceName => (n === 'a' ? 'b' : 'a');
const upper = (n: string | undefined): string => (n ?? '-').toUpperCase();

interface Options {
  prefix: string;
  realServers: number;
  keep: boolean;
  console: ApplianceName | undefined;
}

function options(): Options {
  try {
    const { values } = parseArgs({
      options: {
        prefix: { type: 'string' },
        'real-servers': { type: 'string' },
        keep: { type: 'boolean', default: false },
        console: { type: 'string' },
      },
      strict: true,
    });
    const count = Number(values['real-servers'] ?? 3);
    if (!Number.isInteger(count) || count < 2 || count > 50)
      throw new Error(
        `--real-servers should be a whole number from 2 to 50, got "${values['real-servers']}"`,
      );
    const node = values.console;
    if (node !== undefined && node !== 'a' && node !== 'b')
      throw new Error(`--console should be a or b, got "${node}"`);
    if (node !== undefined && !values.keep) throw new Error('--console needs --keep (the pair stays up)');
    return {
      prefix: checkPrefix(values.prefix ?? process.env.TANDEM_SIM_PREFIX ?? DEFAULT_PREFIX),
      realServers: count,
      keep: values.keep,
      console: node,
    };
  } catch (err) {
    console.error(`demo: ${err instanceof Error ? err.message : err}`);
    console.error('usage: scripts/demo [--prefix P] [--real-servers N] [--keep [--console a|b]]');
    process.exit(2);
  }
}

/** One second of the client's view, as scripts/lib/demo-load.ts prints it. */
interface Second {
  ok: number;
  failed: number;
  byServer: Record<string, number>;
}

/** The client: requests to the VIP every 20 ms from the client namespace, one line per second. */
class Client {
  private readonly child: ChildProcess;
  readonly seconds: Second[] = [];
  private listeners: ((s: Second) => void)[] = [];

  constructor(topology: Topology) {
    const script = join(import.meta.dirname, 'lib', 'demo-load.ts');
    this.child = spawn(
      'ip',
      [
        ...['netns', 'exec', nodeNamespace(topology, 'client'), process.execPath, '--import', 'tsx', script],
        ...['--target', `${topology.addresses.vip}:80`, '--every', '20'],
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const second = JSON.parse(line) as Second;
      this.seconds.push(second);
      for (const l of this.listeners) l(second);
    });
  }

  onSecond(listener: (s: Second) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}

/** Prints live status lines for `seconds`, or until `until` says stop; resolves with the seconds seen. */
async function watch(
  topology: Topology,
  client: Client,
  o: { seconds: number; until?: () => Promise<boolean>; signal: AbortSignal },
): Promise<Second[]> {
  const seen: Second[] = [];
  const off = client.onSecond((s) => {
    seen.push(s);
    void status(topology).then((roles) => {
      const split = topology.realServers.map(
        (rs) => `${rs.name} ${String(s.byServer[rs.name] ?? 0).padStart(2)}`,
      );
      say(
        `      ${new Date().toISOString().slice(11, 19)}  active ${roles.padEnd(9)} ${String(s.ok).padStart(3)} req/s  ${split.join(' | ')}${s.failed > 0 ? `  failed ${s.failed}` : ''}`,
      );
    });
  });
  try {
    for (let i = 0; i < o.seconds * 4 && !o.signal.aborted; i++) {
      await sleep(250, o.signal);
      if (o.until && (await o.until())) break;
    }
  } finally {
    off();
  }
  return seen;
}

/** `A (B standby)` from the cluster's answers. */
async function status(topology: Topology): Promise<string> {
  const [a, b] = await Promise.all([clusterStatus(topology, 'a'), clusterStatus(topology, 'b')]);
  if (a?.role === 'ACTIVE') return 'A';
  if (b?.role === 'ACTIVE') return 'B';
  return 'none';
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, signal: AbortSignal) {
  const end = performance.now() + timeoutMs;
  while (!(await check())) {
    if (signal.aborted) throw new Error('interrupted');
    if (performance.now() > end) throw new Error(`gave up waiting for ${what} after ${timeoutMs / 1000} s`);
    await sleep(100, signal);
  }
}

/** The ACTIVE appliance, waiting (bounded) while there is none or the answers are slow. */
async function theActive(topology: Topology, signal: AbortSignal): Promise<ApplianceName> {
  let active: ApplianceName | undefined;
  await waitFor(
    'an ACTIVE appliance',
    async () => {
      active = await activeNode(topology);
      return active !== undefined;
    },
    15_000,
    signal,
  );
  return active as ApplianceName;
}

/**
 * Waits for the powered-on appliance to settle beside its peer with exactly one ACTIVE. It comes back as
 * STANDBY (no preemption); on a starved host it may instead miss the peer's heartbeats for deadMs after
 * joining and take over (the higher epoch wins, so the peer releases): said as it happened, not hidden.
 */
async function rejoin(topology: Topology, node: ApplianceName, signal: AbortSignal): Promise<void> {
  let seen = 'no answer';
  let settled: { role: string; reason: string | undefined } | undefined;
  await waitFor(
    `${upper(node)} back beside ${upper(other(node))} with one ACTIVE`,
    async () => {
      const [s, peer] = await Promise.all([
        clusterStatus(topology, node),
        clusterStatus(topology, other(node)),
      ]);
      const last = s?.transitions.at(-1);
      seen = s === undefined ? 'no answer' : `${s.role}, last transition ${JSON.stringify(last)}`;
      const one = (s?.role === 'ACTIVE') !== (peer?.role === 'ACTIVE');
      if (s === undefined || !one || (s.role !== 'STANDBY' && s.role !== 'ACTIVE')) return false;
      settled = { role: s.role, reason: last?.reason };
      return true;
    },
    30_000,
    signal,
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; its cluster says: ${seen}`);
  });
  if (settled?.role === 'STANDBY') {
    say(`      ${upper(node)} rejoined as STANDBY (no preemption: ${upper(other(node))} stays ACTIVE)`);
  } else {
    const why =
      settled?.reason === 'peer-dead' ? `: it missed ${upper(other(node))}'s heartbeats for deadMs` : '';
    say(
      `      ${upper(node)} rejoined, then became ACTIVE (${settled?.reason}${why}, as on a starved host); ` +
        `${upper(other(node))} released to the higher epoch: one ACTIVE again`,
    );
  }
}

async function scenario(topology: Topology, signal: AbortSignal): Promise<void> {
  say(
    '[2/7] booting the appliances (a supervisor each: cluster, forwarding, monitor, console, metrics, panel)',
  );
  for (const node of ['a', 'b'] as const) {
    const started = await startAppliance(topology, node);
    const services = started.ready.services as Record<string, string> | undefined;
    say(
      `      ${upper(node)}: supervisor pid ${started.pid}; ${Object.entries(services ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  }
  await waitFor(
    'an ACTIVE appliance',
    async () => (await activeNode(topology)) !== undefined,
    15_000,
    signal,
  );
  const first = (await activeNode(topology)) as ApplianceName;
  say(
    `      ${upper(first)} is ACTIVE, ${upper(other(first))} STANDBY (heartbeat over the serial cable and hb0)`,
  );

  say('[3/7] committing the configuration on the ACTIVE (replicated to the peer)');
  const committed = await commitConfig(topology, await demoConfig(topology), {
    author: 'demo',
    comment: 'the demo service',
  });
  say(
    `      version ${committed.result.version} on ${upper(committed.node)}, replication ${committed.result.replication}: service web ${topology.addresses.vip}:80, NAT, Maglev over ${topology.realServers.map((r) => r.name).join(', ')}, HTTP checks every 500 ms`,
  );

  const client0 = nodeNamespace(topology, 'client');
  await waitFor(
    'the service to answer on the VIP',
    () =>
      httpGet(client0, { host: topology.addresses.vip, port: 80 }, { signal }).then(
        (r) => r.status === 200,
        () => false,
      ),
    15_000,
    signal,
  );
  say(`[4/7] a client sends a request to ${topology.addresses.vip} every 20 ms`);
  const client = new Client(topology);
  try {
    await watch(topology, client, { seconds: 4, signal });

    const victim = topology.realServers[1] ?? topology.realServers[0];
    if (victim === undefined) throw new Error('no real servers');
    say(`[5/7] real server ${victim.name} dies (its process is killed)`);
    say('      (its share fails until the monitor has seen two failed checks, 500 ms apart)');
    process.kill(Number(readFileSync(pidFileOf(topology, victim), 'utf8').trim()), 'SIGKILL');
    const t0 = performance.now();
    let quiet = 0;
    await watch(topology, client, {
      seconds: 10,
      signal,
      until: async () => {
        const last = client.seconds.at(-1);
        quiet =
          last !== undefined && (last.byServer[victim.name] ?? 0) === 0 && last.failed === 0 ? quiet + 1 : 0;
        return quiet >= 8;
      },
    });
    say(
      `      the monitor took ${victim.name} out of rotation (about ${((performance.now() - t0) / 1000).toFixed(1)} s to a clean second)`,
    );
    await ensureRealServers(topology, ownProcesses(topology.prefix, topology.stateDir), { signal });
    say(`      ${victim.name} restarted; after 2 good checks it is back in rotation`);
    await watch(topology, client, {
      seconds: 8,
      signal,
      until: async () => (client.seconds.at(-1)?.byServer[victim.name] ?? 0) > 0,
    });

    const active = await theActive(topology, signal);
    say(`[6/7] appliance ${upper(active)} loses power (every process killed, every link down)`);
    const cut = client.seconds.length;
    await powerOff(topology, active);
    await watch(topology, client, { seconds: 4, signal });
    const after = client.seconds.slice(cut);
    say(
      `      ${upper(other(active))} took over: ${after.reduce((n, s) => n + s.failed, 0)} failed requests while it did`,
    );
    say(`      power back on ${upper(active)}`);
    await powerOn(topology, active);
    await rejoin(topology, active, signal);
    await watch(topology, client, { seconds: 2, signal });

    const now = await theActive(topology, signal);
    say(`[7/7] the failover button on ${upper(now)}'s front panel is pressed`);
    say(`      panel LEDs of ${upper(now)} before: ${JSON.stringify(await panelOf(topology, now).leds())}`);
    const press = client.seconds.length;
    await panelOf(topology, now).press('failover', 200);
    await waitFor(
      `${upper(other(now))} ACTIVE`,
      async () => (await clusterStatus(topology, other(now)))?.role === 'ACTIVE',
      5000,
      signal,
    );
    await watch(topology, client, { seconds: 3, signal });
    say(
      `      graceful switchover to ${upper(other(now))}: ${client.seconds.slice(press).reduce((n, s) => n + s.failed, 0)} failed requests`,
    );
    say(`      panel LEDs of ${upper(now)} after: ${JSON.stringify(await panelOf(topology, now).leds())}`);
  } finally {
    client.stop();
  }
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

  let failed = false;
  let topology: Topology | undefined;
  try {
    say(`[1/7] bringing the simulated pair up (testbed ${opts.prefix}, ${opts.realServers} real servers)`);
    topology = (await up({ prefix: opts.prefix, realServers: opts.realServers, signal: controller.signal }))
      .topology;
    const { a, b } = topology.addresses;
    say(
      `      A: client0 ${a.client}, server0 ${a.server}, hb0 ${a.heartbeat}; B: ${b.client}, ${b.server}, ${b.heartbeat}`,
    );
    say(
      `      client ${topology.addresses.client}; VIP ${topology.addresses.vip}; real servers ${topology.realServers.map((r) => `${r.name} ${r.address}`).join(', ')}`,
    );
    await scenario(topology, controller.signal);
  } catch (err) {
    failed = true;
    if (!controller.signal.aborted) console.error(`demo failed: ${err instanceof Error ? err.message : err}`);
  } finally {
    tearingDown = true;
    if (opts.keep && topology !== undefined && !controller.signal.aborted) {
      say(`leaving testbed ${opts.prefix} running. Log in as ${DEMO_USER} / ${DEMO_PASSWORD} on a console:`);
      say(`  npm run tandem -- sim console a|b --prefix ${opts.prefix}   (Ctrl-] detaches)`);
      say(`  metrics: ip netns exec ${opts.prefix}-a curl http://127.0.0.1:9100/metrics`);
      say(`  remove it all: npm run tandem -- sim down --prefix ${opts.prefix}`);
      if (opts.console !== undefined) await attachConsole(consoleLinks(topology, opts.console).operator);
    } else {
      const removed = await down({ prefix: opts.prefix });
      say(
        `torn down: removed ${removed.namespaces.length} namespaces, stopped the appliances, real servers and cables`,
      );
    }
  }
  if (controller.signal.aborted) return 130;
  if (!failed) say('demo finished');
  return failed ? 1 : 0;
}

process.exit(await main());
