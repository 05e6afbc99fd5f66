/**
 * Forwarding throughput and control-plane latency on the testbed (needs root, wrk, haproxy, nginx, nft, curl).
 *
 * Throughput: wrk from the client against one real server (rs1), five ways side by side: direct (through
 * the upstream router in the switch namespace), Tandem DR (A forwards at netdev ingress; replies go back
 * through the router), Tandem NAT (A's dnat, replies through A), HAProxy `mode tcp` round-robin on A, and
 * `bare`: DR's path with one hand-written fwd rule instead of Tandem's tables.
 * Each scenario has its own port (TIME_WAIT + PAWS would otherwise refuse SYNs reused across scenarios), all
 * served by one real server: nginx, so the box is CPU-bound and not bound by a one-thread server that
 * hides what each path costs (`--server node`: the testbed's Node server, one process for every port);
 * the scenarios take turns within each repetition; figures are medians.
 *
 * Latency: from a backend change (a real server going down or coming back, in the forwarding source) to
 * the kernel having applied it (the nft transaction returned), with 65537-slot and small tables.
 * Also the pure figures: Maglev disruption and the lc approximation.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDesired, type VirtualService } from '../firmware/forward/model.ts';
import { NftForwardingPlane } from '../firmware/forward/nft/plane.ts';
import { movedSlots, serviceSlots } from '../firmware/forward/schedulers/index.ts';
import { startForwarding } from '../firmware/forward/service.ts';
import { MemoryForwardingSource } from '../firmware/forward/source.ts';
import { NftPacketFilter } from '../hal/packetfilter/linux.ts';
import { simulateLeastConn } from '../test/forward/lc-sim.ts';
import { prepareForForwarding, routeClientDirect } from '../test/forward/testbed-setup.ts';
import { startTestbed, type Testbed } from '../test/support/testbed.ts';
import { benchMain, type Figures, percentile } from './lib/figures.ts';
import { cpuSince, machineCpu } from './lib/machine-cpu.ts';

const PORTS = { direct: 8000, dr: 8001, nat: 8002, haproxy: 8003, bare: 8004 } as const;
type Scenario = keyof typeof PORTS;
const ALL_SCENARIOS: readonly Scenario[] = ['direct', 'dr', 'nat', 'haproxy', 'bare'];
const LOADS = [
  { name: 'keep-alive 1KB', path: '/bytes/1024', headers: [] as string[], connections: 32, unit: 'req/s' },
  {
    name: 'close 1KB',
    path: '/bytes/1024',
    headers: ['-H', 'Connection: close'],
    connections: 32,
    unit: 'req/s',
  },
  { name: '10MB', path: '/bytes/10485760', headers: [], connections: 4, unit: 'MB/s' },
] as const;

/** What a run measures; the defaults are the full bench, the flags narrow it for profiling. */
interface ThroughputOptions {
  readonly seconds: number;
  readonly repetitions: number;
  readonly loads: readonly (typeof LOADS)[number][];
  readonly scenarios: readonly Scenario[];
  /** The real server: nginx with a worker per CPU (default), or the testbed's Node server (`--server node`). */
  readonly server: 'node' | 'nginx';
}

function throughputOptions(argv: readonly string[]): ThroughputOptions {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i < 0 ? undefined : argv[i + 1];
  };
  const load = flag('--load');
  const scenarios = flag('--scenarios')?.split(',') ?? ALL_SCENARIOS;
  const unknown = scenarios.filter((s) => !ALL_SCENARIOS.includes(s as Scenario));
  if (unknown.length > 0)
    throw new Error(`unknown scenario ${unknown.join(', ')}: ${ALL_SCENARIOS.join(', ')}`);
  const loads = LOADS.filter((l) => load === undefined || l.name.startsWith(load));
  if (loads.length === 0) throw new Error(`no load named ${load}: ${LOADS.map((l) => l.name).join(', ')}`);
  return {
    seconds: Number(flag('--seconds') ?? 4),
    repetitions: Number(flag('--repetitions') ?? 5),
    loads,
    scenarios: scenarios as Scenario[],
    server: flag('--server') === 'node' ? 'node' : 'nginx',
  };
}

const REALSERVER = join(import.meta.dirname, '..', 'board', 'sim', 'testbed', 'realserver.ts');

/** Children this bench started, killed by PID at the end. */
const owned: ChildProcess[] = [];

/** One real-server process on rs1 serving every scenario's port (one heap and JIT for all of them). */
async function startListeners(tb: Testbed, ports: readonly number[], dir: string): Promise<void> {
  const pidFile = join(dir, 'rs1.pid');
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      tb.ns('rs1'),
      process.execPath,
      '--import',
      'tsx',
      REALSERVER,
      '--name',
      'rs1',
      '--port',
      ports.join(','),
      '--pid-file',
      pidFile,
    ],
    { stdio: 'ignore' },
  );
  owned.push(child);
  const deadline = performance.now() + 20_000;
  while (!existsSync(pidFile)) {
    if (child.exitCode !== null || performance.now() > deadline)
      throw new Error(`real server on ports ${ports.join(',')} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * nginx on rs1 serving the same paths from files, every scenario's port, a worker per CPU: a real server
 * that is not the bottleneck, so the box is CPU-bound and throughput follows what each path costs.
 */
async function startNginx(tb: Testbed, ports: readonly number[], dir: string): Promise<ChildProcess> {
  const root = join(dir, 'www');
  mkdirSync(join(root, 'bytes'), { recursive: true });
  chmodSync(dir, 0o755); // nginx's workers read the files as www-data
  writeFileSync(join(root, 'index.html'), 'rs1\n');
  for (const load of LOADS) {
    const size = Number(load.path.split('/').pop());
    writeFileSync(join(root, load.path), Buffer.alloc(size, 0x61));
  }
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'worker_processes 2;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'nginx-error.log')};`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      '  keepalive_requests 1000000;',
      '  sendfile on;',
      `  server { ${ports.map((p) => `listen ${p};`).join(' ')} root ${root}; default_type application/octet-stream; }`,
      '}',
      '',
    ].join('\n'),
  );
  const child = spawn('ip', ['netns', 'exec', tb.ns('rs1'), 'nginx', '-c', conf, '-g', 'daemon off;'], {
    stdio: 'ignore',
  });
  const deadline = performance.now() + 10_000;
  for (;;) {
    const probe = await tb.exec(
      'client',
      ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `${target(tb, 'direct')}/bytes/1024`],
      { allowFail: true },
    );
    if (probe.stdout === '200') return child;
    if (child.exitCode !== null || performance.now() > deadline) throw new Error('nginx did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** nginx's workers outlive a SIGKILLed master: SIGTERM it, which stops them, and wait (bounded). */
async function stopNginx(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
}

/**
 * `bare`: one hand-written `fwd` rule at A's ingress, ahead of Tandem's tables: what the path through A
 * costs on this testbed (two more veth crossings and a bridge pass than direct) without Tandem's rules.
 */
async function startBareForward(tb: Testbed, rs1: string): Promise<void> {
  const table = 'netdev tnd_bench_bare';
  await tb.exec('a', ['nft', `add table ${table}`]);
  await tb.exec('a', [
    'nft',
    `add chain ${table} in { type filter hook ingress device client0 priority -200; }`,
  ]);
  await tb.exec('a', [
    'nft',
    `add rule ${table} in ip daddr ${tb.addresses.vip} tcp dport ${PORTS.bare} fwd ip to ${rs1} device server0`,
  ]);
}

async function startHaproxy(tb: Testbed, dir: string): Promise<void> {
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    [
      'global',
      '  maxconn 8000',
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend bench',
      `  bind ${tb.addresses.a.client}:${PORTS.haproxy}`,
      '  default_backend servers',
      'backend servers',
      '  balance roundrobin',
      `  server rs1 ${tb.realServers[0]?.address}:${PORTS.haproxy}`,
      '',
    ].join('\n'),
  );
  // `ip netns exec` execs haproxy in place, so this PID is haproxy's; -db keeps it in the foreground.
  const child = spawn('ip', ['netns', 'exec', tb.ns('a'), 'haproxy', '-db', '-f', cfg], { stdio: 'ignore' });
  owned.push(child);
  const deadline = performance.now() + 10_000;
  for (;;) {
    const probe = await tb.exec(
      'client',
      [
        'curl',
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `http://${tb.addresses.a.client}:${PORTS.haproxy}/`,
      ],
      { allowFail: true },
    );
    if (probe.stdout === '200') return;
    if (child.exitCode !== null || performance.now() > deadline) throw new Error('haproxy did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function target(tb: Testbed, scenario: Scenario): string {
  const host =
    scenario === 'direct'
      ? tb.realServers[0]?.address
      : scenario === 'haproxy'
        ? tb.addresses.a.client
        : tb.addresses.vip;
  return `http://${host}:${PORTS[scenario]}`;
}

interface Run {
  /** Requests/s, or MB/s for the 10 MB load. */
  readonly rate: number;
  /** CPU time the whole machine spent per request (µs), or per MB (ms): every process and softirq. */
  readonly cpuPerUnit: number;
  /** Share of the run's wall time the host stole from this machine's CPUs (0..2 on two CPUs). */
  readonly stolen: number;
}

/** One wrk run, with what the whole machine spent on it. */
async function wrk(tb: Testbed, url: string, load: (typeof LOADS)[number], seconds: number): Promise<Run> {
  const before = machineCpu();
  const started = performance.now();
  const out = await tb.exec(
    'client',
    [
      'wrk',
      '-t',
      '2',
      '-c',
      String(load.connections),
      '-d',
      `${seconds}s`,
      '--timeout',
      '5s',
      ...load.headers,
      `${url}${load.path}`,
    ],
    { timeoutMs: (seconds + 20) * 1000 },
  );
  const cpu = cpuSince(before);
  const wall = (performance.now() - started) / 1000;
  let rate: number;
  if (load.unit === 'req/s') rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out.stdout)?.[1] ?? Number.NaN);
  else {
    const m = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(out.stdout);
    const scale: Record<string, number> = { B: 1 / 2 ** 20, KB: 1 / 1024, MB: 1, GB: 1024 };
    rate = Number(m?.[1] ?? Number.NaN) * (scale[m?.[2] ?? ''] ?? Number.NaN);
  }
  const perUnit = load.unit === 'req/s' ? 1e6 : 1e3;
  return { rate, cpuPerUnit: (cpu.busy / (rate * seconds)) * perUnit, stolen: cpu.steal / wall };
}

const median = (xs: readonly number[]): number => percentile(xs, 50);

/**
 * Each repetition runs every scenario once, in an order rotated by one per repetition; a scenario's ratio
 * to direct is the median of its per-repetition ratios (runs minutes apart on a shared 2-core machine
 * differ by ±20%, runs seconds apart much less). One unrecorded run per scenario first warms the real
 * servers' JIT. The machine's CPU per request says what each path costs whatever the host steals: the
 * ratio by CPU is the throughput a CPU-bound machine would reach, `direct`'s cost over the scenario's.
 */
async function throughput(tb: Testbed, figures: Figures, o: ThroughputOptions): Promise<void> {
  for (const load of o.loads) {
    for (const s of o.scenarios) await wrk(tb, target(tb, s), load, 1);
    const samples = new Map<Scenario, Run[]>(o.scenarios.map((s) => [s, []]));
    for (let rep = 0; rep < o.repetitions; rep++) {
      for (let i = 0; i < o.scenarios.length; i++) {
        const s = o.scenarios[(i + rep) % o.scenarios.length] as Scenario;
        samples.get(s)?.push(await wrk(tb, target(tb, s), load, o.seconds));
      }
    }
    const of = (s: Scenario): Run[] => samples.get(s) ?? [];
    const cpuUnit = load.unit === 'req/s' ? 'µs per request' : 'ms per MB';
    for (const s of o.scenarios) {
      figures[`${load.name} ${s} (${load.unit}, median of ${o.repetitions})`] = median(
        of(s).map((r) => r.rate),
      );
      figures[`${load.name} ${s} runs`] = of(s)
        .map((r) => Math.round(r.rate))
        .join(' ');
      figures[`${load.name} ${s} machine CPU (${cpuUnit}, median)`] = median(of(s).map((r) => r.cpuPerUnit));
    }
    const stolen = o.scenarios.flatMap((s) => of(s).map((r) => r.stolen));
    figures[`${load.name} CPU stolen by the host (share of one CPU, median / max)`] =
      `${median(stolen).toFixed(2)} / ${Math.max(...stolen).toFixed(2)}`;
    const ratio = (a: Scenario, b: Scenario): void => {
      if (!o.scenarios.includes(a) || !o.scenarios.includes(b)) return;
      const paired = of(a).map((x, i) => x.rate / (of(b)[i]?.rate ?? Number.NaN));
      figures[`${load.name} ${a} / ${b}`] = median(paired);
      figures[`${load.name} ${a} / ${b}, range of the repetitions`] =
        `${Math.min(...paired).toFixed(3)}–${Math.max(...paired).toFixed(3)}`;
      const cheaper = of(a).map((x, i) => (of(b)[i]?.cpuPerUnit ?? Number.NaN) / x.cpuPerUnit);
      figures[`${load.name} ${a} / ${b} by machine CPU per ${load.unit === 'req/s' ? 'request' : 'MB'}`] =
        median(cheaper);
    };
    for (const s of ['dr', 'nat', 'haproxy'] as const) ratio(s, 'direct');
    ratio('dr', 'haproxy');
    ratio('bare', 'direct');
    ratio('dr', 'bare');
  }
}

/**
 * Backend change → kernel applied, through the forwarding service, `rounds` times: rs3's health flips
 * (down, up), or with `config` rs3 leaves the configuration and comes back (its slots move).
 */
async function changeLatency(tb: Testbed, slots: number, rounds: number, config = false): Promise<number[]> {
  const pf = new NftPacketFilter({ netns: tb.ns('a') });
  const plane = new NftForwardingPlane(pf, {
    clientLink: 'client0',
    serverLink: 'server0',
    drTable: 'tandem_lat',
    natTable: 'tandem_lat_nat',
  });
  const spec = (down: boolean) => ({
    services: [
      {
        name: 'lat',
        vip: tb.addresses.vip,
        protocol: 'tcp',
        port: 9999,
        method: 'dr',
        slots,
        servers: tb.realServers
          .filter((_, i) => !(config && down && i === 2))
          .map((rs, i) => ({ address: rs.address, state: down && i === 2 ? 'down' : 'up' })),
      },
    ],
  });
  const source = new MemoryForwardingSource(spec(false));
  const service = startForwarding({ source, plane });
  const samples: number[] = [];
  try {
    await service.settled();
    for (let i = 0; i < rounds; i++) {
      const started = performance.now();
      source.set(spec(i % 2 === 0));
      await service.settled();
      if (service.status().lastError !== undefined) throw service.status().lastError;
      samples.push(performance.now() - started);
    }
  } finally {
    await service.close();
    await pf.deleteTable({ family: 'netdev', name: 'tandem_lat' });
    await pf.deleteTable({ family: 'netdev', name: 'tandem_lat_slots' });
    await pf.close();
  }
  return samples;
}

function pureFigures(figures: Figures): void {
  const svc = (n: number): VirtualService =>
    parseDesired({
      services: [
        {
          name: 'm',
          vip: '192.0.2.100',
          protocol: 'tcp',
          port: 80,
          method: 'dr',
          servers: Array.from({ length: n }, (_, i) => ({ address: `198.51.100.${11 + i}` })),
        },
      ],
    }).services[0] as VirtualService;
  for (const n of [3, 10]) {
    const full = svc(n);
    const less = { ...full, servers: full.servers.slice(1) };
    figures[`maglev 65537: slots moved when 1 of ${n} leaves (ideal ${(1 / n).toFixed(3)})`] =
      movedSlots(serviceSlots(full), serviceSlots(less)) / 65537;
  }
  const o = { seed: 5, holdS: [1, 1, 2, 4], arrivalsPerS: 200, durationS: 40, periodS: 1 };
  for (const policy of ['true-lc', 'approx', 'static'] as const) {
    figures[`lc imbalance (max-min)/mean, ${policy}`] = simulateLeastConn(policy, o).imbalance;
  }
}

/**
 * `--latency`: only the backend-change latency. `--load <name> --scenarios a,b --seconds N --repetitions N`:
 * only those throughput runs (for profiling one path), no latency or pure figures.
 */
export async function run(argv: readonly string[] = []): Promise<Figures> {
  const figures: Figures = {};
  if (argv.includes('--latency')) return latencyOnly(figures);
  const narrowed = argv.includes('--load') || argv.includes('--scenarios');
  const options = throughputOptions(argv);
  if (!narrowed) pureFigures(figures);
  const tb = await startTestbed({ realServers: 3 });
  const dir = mkdtempSync(join(tmpdir(), 'tnd-bench-forward-'));
  const filter = new NftPacketFilter({ netns: tb.ns('a') });
  let nginx: ChildProcess | undefined;
  try {
    await prepareForForwarding(tb);
    await routeClientDirect(tb);
    const rs1 = tb.realServers[0];
    if (rs1 === undefined) throw new Error('no real server');
    // Direct replies go back through the router as well, not through A (the real servers' default).
    await tb.exec('rs1', [
      'ip',
      'rule',
      'add',
      'ipproto',
      'tcp',
      'sport',
      String(PORTS.direct),
      'table',
      '100',
      'priority',
      '101',
    ]);
    for (const node of ['client', 'rs1'] as const) {
      await tb.exec(node, [
        'sysctl',
        '-qw',
        'net.ipv4.ip_local_port_range=1024 65000',
        'net.ipv4.tcp_tw_reuse=1',
      ]);
    }
    await tb.exec('a', ['sysctl', '-qw', 'net.netfilter.nf_conntrack_max=262144'], { allowFail: true });
    if (options.server === 'nginx') nginx = await startNginx(tb, Object.values(PORTS), dir);
    else await startListeners(tb, Object.values(PORTS), dir);
    figures['real server'] = options.server;
    await startHaproxy(tb, dir);
    await startBareForward(tb, rs1.address);
    const plane = new NftForwardingPlane(filter, { clientLink: 'client0', serverLink: 'server0' });
    await plane.apply(
      parseDesired({
        services: [
          {
            name: 'dr',
            vip: tb.addresses.vip,
            protocol: 'tcp',
            port: PORTS.dr,
            method: 'dr',
            servers: [{ address: rs1.address }],
          },
          {
            name: 'nat',
            vip: tb.addresses.vip,
            protocol: 'tcp',
            port: PORTS.nat,
            method: 'nat',
            servers: [{ address: rs1.address }],
          },
        ],
      }),
    );
    await throughput(tb, figures, options);
    if (!narrowed) await latencyFigures(tb, figures);
  } finally {
    if (nginx !== undefined) await stopNginx(nginx);
    for (const child of owned.splice(0).reverse()) {
      if (child.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await filter.close();
    await tb.down();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

async function latencyFigures(tb: Testbed, figures: Figures): Promise<void> {
  const big = await changeLatency(tb, 65537, 40);
  const small = await changeLatency(tb, 251, 100);
  figures['backend change -> applied, 65537 slots, p50 (ms)'] = percentile(big, 50);
  figures['backend change -> applied, 65537 slots, p99 (ms)'] = percentile(big, 99);
  figures['backend change -> applied, 251 slots, p50 (ms)'] = percentile(small, 50);
  figures['backend change -> applied, 251 slots, p99 (ms)'] = percentile(small, 99);
  const config = await changeLatency(tb, 65537, 10, true);
  figures['server leaves/rejoins the config -> applied, 65537 slots, p50 (ms)'] = percentile(config, 50);
  figures['server leaves/rejoins the config -> applied, 65537 slots, max (ms)'] = percentile(config, 100);
}

async function latencyOnly(figures: Figures): Promise<Figures> {
  const tb = await startTestbed({ realServers: 3 });
  try {
    await prepareForForwarding(tb);
    await latencyFigures(tb, figures);
  } finally {
    await tb.down();
  }
  return figures;
}

await benchMain(import.meta, 'forward', () => run(process.argv.slice(2)));
