/**
 * Health checks at scale: 1000 real servers (four farm processes, 250 ports each, in the testbed's rs1
 * namespace) checked every 1 s by the monitor process in the appliance namespace.
 *   - CPU of the monitor process as % of one core, with TCP, HTTP and HTTPS checks, each HTTP(S) with a
 *     new connection per probe and with keepAlive (target ≤ 10%), beside what bare Node spends on the same
 *     connections (the floors);
 *   - time from killing a farm process (its 250 servers refuse connections) to each server's weight 0;
 *   - time from dropping every packet to another farm's ports (250 servers go silent: probes time out)
 *     to each one's weight 0.
 * Target for both: ≤ 3 intervals + timeout (fall 3, interval 1000 ms, timeout 500 ms: 3500 ms). Both are
 * measured twice: with the plain policy (a failed probe waits for its next slot, so the silent case's
 * worst is the target itself, before any timer lateness) and with `retryMs` (keepalived's
 * delay_before_retry: an up server that failed is probed again sooner).
 * Everything runs inside the testbed's namespaces and is torn down at the end.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SinkEntry } from '../firmware/monitor/sinks.ts';
import { NftSession } from '../hal/packetfilter/nft-session.ts';
import type { LineChild } from '../test/monitor/support/line-child.ts';
import { MonitorProcess } from '../test/monitor/support/monitor-process.ts';
import { makeCertificate, startFarm } from '../test/monitor/support/testbed-helpers.ts';
import { startTestbed, type Testbed } from '../test/support/testbed.ts';
import { benchMain, type Figures, percentile } from './lib/figures.ts';
import { cpuSince, machineCpu } from './lib/machine-cpu.ts';

const RS1 = '198.51.100.11';
const SERVERS = 1000;
const FARMS = 4;
const BASE_PORT = 10_000;
/** The same servers over TLS (a self-signed certificate; the checks do not verify it). */
const TLS_BASE_PORT = 12_000;
const INTERVAL_MS = 1000;
const TIMEOUT_MS = 500;
const FALL = 3;
const RETRY_MS = 250;
const MEASURE_MS = 15_000;
/** Before each CPU figure: the first rounds of probes, and V8's optimising compiler (busy for ~10 s). */
const WARM_UP_MS = 12_000;
const CLK_TCK = 100;

const portOf = (i: number): number => BASE_PORT + i;
const nameOf = (i: number): string => `s${i}`;

const CHECKS = {
  tcp: { kind: 'tcp' },
  http: { kind: 'http', expectStatus: [200] },
  'http keepAlive': { kind: 'http', expectStatus: [200], keepAlive: true },
  https: { kind: 'https', expectStatus: [200] },
  'https keepAlive': { kind: 'https', expectStatus: [200], keepAlive: true },
};

type CheckKind = keyof typeof CHECKS;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function config(kind: CheckKind, retryMs?: number): unknown {
  return {
    defaults: { intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS, rise: 2, fall: FALL, retryMs },
    maxConcurrent: 512,
    services: [
      {
        name: 'bench',
        checks: [CHECKS[kind]],
        servers: Array.from({ length: SERVERS }, (_, i) => ({
          name: nameOf(i),
          address: RS1,
          port: (kind.startsWith('https') ? TLS_BASE_PORT : BASE_PORT) + i,
        })),
      },
    ],
  };
}

/** User and system CPU seconds of a process so far. */
function cpuSeconds(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After "pid (comm) ": state is field 3, utime 14 and stime 15 (1-based in proc(5)).
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK };
}

/** CPU of `pid` over the next `ms` as % of one core: user, system and their sum. */
interface Cpu {
  readonly user: number;
  readonly system: number;
  readonly total: number;
  /** What the host stole from this machine's CPUs meanwhile. */
  readonly stolen: number;
  /** The whole machine's softirq meanwhile. */
  readonly softirq: number;
}

async function cpuPercent(pid: number, ms: number): Promise<Cpu> {
  const c0 = cpuSeconds(pid);
  const machine = machineCpu();
  const t0 = performance.now();
  await sleep(ms);
  const c1 = cpuSeconds(pid);
  const seconds = (performance.now() - t0) / 1000;
  const user = ((c1.user - c0.user) / seconds) * 100;
  const system = ((c1.system - c0.system) / seconds) * 100;
  const spent = cpuSince(machine);
  return {
    user,
    system,
    total: user + system,
    stolen: (spent.steal / seconds) * 100,
    softirq: (spent.softirq / seconds) * 100,
  };
}

/**
 * The floor: what plain Node spends on the same TCP connects (1000 a second, each reset at once) with no
 * monitor logic at all, measured the same way, in the same namespace, at the same moment's machine load.
 * Ports come in a shuffled order, as the monitor's jittered checks do: a burst of consecutive ports would
 * all land on one farm process and wake it once, where the monitor's wake several (veth charges that
 * wake-up, the real server's work, to the connecting process).
 */
const FLOOR = `
const { connect } = require('node:net');
const { readFileSync } = require('node:fs');
const cpu = () => { const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const order = Array.from({ length: ${SERVERS} }, (_, k) => k);
for (let k = order.length - 1, seed = 42; k > 0; k--) { seed = (seed * 1103515245 + 12345) % 2147483648;
  const j = seed % (k + 1); [order[k], order[j]] = [order[j], order[k]]; }
let i = 0;
const burst = () => { for (let k = 0; k < 10; k++) { const s = connect({ host: '${RS1}', port: ${BASE_PORT} + order[i++ % ${SERVERS}] });
  s.on('error', () => {}); s.once('connect', () => s.resetAndDestroy()); } };
setTimeout(() => { const iv = setInterval(burst, 10); const c0 = cpu(); const t0 = performance.now();
  setTimeout(() => { clearInterval(iv); console.log(((cpu() - c0) / ${CLK_TCK}) / ((performance.now() - t0) / 1000) * 100); }, ${MEASURE_MS}); }, 1000);
`;

/** The same on Node's bare TCP handles (what the tcp and http checks use), without net.Socket. */
const FLOOR_HANDLE = FLOOR.replace(
  "const { connect } = require('node:net');",
  `const { TCP, TCPConnectWrap, constants } = process.binding('tcp_wrap');
const done = (status, handle) => { if (status === 0) handle.reset(() => {}); else handle.close(); };
const connect = ({ host, port }) => { const h = new TCP(constants.SOCKET); const req = new TCPConnectWrap();
  req.oncomplete = done; h.connect(req, host, port); return { on() {}, once() {} }; };`,
);

/** The same, each connection carrying one GET read into one shared buffer (what the http check does). */
const FLOOR_HTTP = FLOOR.replace(
  "const { connect } = require('node:net');",
  `const { TCP, TCPConnectWrap, constants } = process.binding('tcp_wrap');
const { WriteWrap } = process.binding('stream_wrap');
const REQUEST = 'GET / HTTP/1.1\\r\\nHost: ${RS1}\\r\\nConnection: close\\r\\n\\r\\n';
const buffer = new Uint8Array(65536);
const ignore = () => {};
function onread() { this.onread = ignore; this.reset(ignore); }
const done = (status, handle) => {
  if (status !== 0) { handle.close(); return; }
  handle.onread = onread; handle.useUserBuffer(buffer);
  const w = new WriteWrap(); w.handle = handle; w.oncomplete = ignore; w.async = false;
  handle.writeLatin1String(w, REQUEST); handle.readStart(); };
const connect = ({ host, port }) => { const h = new TCP(constants.SOCKET); const req = new TCPConnectWrap();
  req.oncomplete = done; h.connect(req, host, port); return { on() {}, once() {} }; };`,
);

async function floorPercent(tb: Testbed, program: string): Promise<number> {
  const { stdout } = await tb.exec('a', [process.execPath, '-e', program], {
    timeoutMs: MEASURE_MS + 10_000,
  });
  return Number(stdout.trim());
}

const downs = (m: MonitorProcess, from: number): Map<string, number> => {
  const out = new Map<string, number>();
  for (const r of m.records.slice(from)) {
    if (r.entry.type === 'server' && r.entry.record.state === 'down' && !out.has(r.entry.record.server)) {
      out.set(r.entry.record.server, r.at);
    }
  }
  return out;
};

/** Servers whose last record says up (every phase names its servers alike). */
function upNow(m: MonitorProcess): number {
  const last = new Map<string, string>();
  for (const r of m.records) {
    if (r.entry.type === 'server') last.set(r.entry.record.server, r.entry.record.state);
  }
  return [...last.values()].filter((state) => state === 'up').length;
}

async function waitCount(
  m: MonitorProcess,
  pred: (e: SinkEntry) => boolean,
  count: number,
  from: number,
  ms: number,
): Promise<number> {
  const deadline = performance.now() + ms;
  for (;;) {
    const n = m.records.slice(from).filter((r) => pred(r.entry)).length;
    if (n >= count || performance.now() > deadline) return n;
    await sleep(50);
  }
}

/** Seconds from `t0` to each named server's first 'down' record after index `from`. */
async function timeToZero(
  m: MonitorProcess,
  names: readonly string[],
  from: number,
  t0: number,
): Promise<number[]> {
  const wanted = new Set(names);
  await waitCount(
    m,
    (e) => e.type === 'server' && e.record.state === 'down' && wanted.has(e.record.server),
    names.length,
    from,
    3 * (FALL * INTERVAL_MS + TIMEOUT_MS),
  );
  const seen = downs(m, from);
  return names.map((n) => (seen.get(n) ?? Number.NaN) - t0);
}

function cpuFigures(kind: string, cpu: Cpu): Figures {
  return {
    [`monitor CPU, ${kind} checks (% of one core)`]: cpu.total,
    [`  ${kind}: user / system (%)`]: `${cpu.user.toFixed(1)} / ${cpu.system.toFixed(1)}`,
    [`  ${kind}: CPU the host stole meanwhile (% of one CPU)`]: cpu.stolen,
    // veth delivers in the sender's system call: the real servers' half of each exchange runs in softirq
    // inside the monitor's connect and write, and is charged to it (on a NIC it runs off the interrupt).
    [`  ${kind}: softirq on the whole machine meanwhile (% of one CPU)`]: cpu.softirq,
  };
}

interface Failures {
  readonly refused: number[];
  readonly silent: number[];
}

/**
 * Farm `killed` is killed (its servers refuse connections at once); then every packet to farm `dropped`'s
 * ports is dropped in rs1's namespace (its servers go silent). Times to weight 0 of each, in ms.
 */
async function failures(
  tb: Testbed,
  m: MonitorProcess,
  farms: readonly LineChild[],
  killed: number,
  dropped: number,
  farmNames: (f: number) => string[],
): Promise<Failures> {
  const killFrom = m.records.length;
  const tKill = performance.now();
  process.kill((farms[killed] as LineChild).pid, 'SIGKILL');
  const refused = await timeToZero(m, farmNames(killed), killFrom, tKill);

  const perFarm = SERVERS / FARMS;
  const first = portOf(dropped * perFarm);
  // A long-lived libnftables session in rs1's namespace: the rule is in force about a millisecond after
  // the request, where a spawned nft takes several (a probe that starts meanwhile still succeeds).
  const nft = new NftSession(tb.ns('rs1'), 10_000, 'rs1');
  const nftRun = async (command: string): Promise<void> => {
    const r = await nft.run(command, undefined);
    if (r.code !== 0) throw new Error(`nft ${command}: ${r.stderr}`);
  };
  try {
    await nftRun('add table inet tnd_bench_silent');
    await nftRun('add chain inet tnd_bench_silent input { type filter hook input priority 0; }');
    const dropFrom = m.records.length;
    const tDrop = performance.now();
    await nftRun(`add rule inet tnd_bench_silent input tcp dport ${first}-${first + perFarm - 1} drop`);
    const silent = await timeToZero(m, farmNames(dropped), dropFrom, tDrop);
    await nftRun('delete table inet tnd_bench_silent');
    return { refused, silent };
  } finally {
    nft.stop(new Error('the bench is done with nft'));
  }
}

function timeToZeroFigures(prefix: string, f: Failures): Figures {
  const finite = (xs: number[]): number[] => xs.filter(Number.isFinite);
  const out: Figures = {};
  for (const [what, xs] of [
    ['refused', f.refused],
    ['silent', f.silent],
  ] as const) {
    out[`${prefix}${what}: servers at weight 0 (of ${xs.length})`] = finite(xs).length;
    out[`${prefix}${what}: time to weight 0 p50 (ms)`] = percentile(finite(xs), 50);
    out[`${prefix}${what}: time to weight 0 p99 (ms)`] = percentile(finite(xs), 99);
    out[`${prefix}${what}: time to weight 0 max (ms)`] = Math.max(...finite(xs));
  }
  return out;
}

export async function run(): Promise<Figures> {
  if (process.getuid?.() !== 0) throw new Error('bench/monitor needs root (network namespaces)');
  const dir = mkdtempSync(join(tmpdir(), 'tnd-bench-monitor-'));
  let tb: Testbed | undefined;
  const farms: LineChild[] = [];
  let monitor: MonitorProcess | undefined;
  try {
    tb = await startTestbed({ realServers: 1 });
    const { cert, key } = makeCertificate(dir, 'rs1.test');
    const perFarm = SERVERS / FARMS;
    for (let f = 0; f < FARMS; f++) {
      const farm = await startFarm(tb.ns('rs1'));
      farms.push(farm);
      const ports = Array.from({ length: perFarm }, (_, i) => portOf(f * perFarm + i));
      await farm.call({ op: 'listen', host: RS1, ports, mode: 'http' });
      const tlsPorts = ports.map((p) => p - BASE_PORT + TLS_BASE_PORT);
      await farm.call({ op: 'listen', host: RS1, ports: tlsPorts, mode: 'https', cert, key });
    }

    const floor = await floorPercent(tb, FLOOR);
    const floorHandle = await floorPercent(tb, FLOOR_HANDLE);
    const floorHttp = await floorPercent(tb, FLOOR_HTTP);

    // TCP checks.
    // BENCH_MONITOR_PROF=<dir>: a V8 CPU profile of the monitor process, written there when it stops;
    // BENCH_MONITOR_NODE_ARGS: more flags for its node (e.g. --perf-basic-prof).
    const prof = process.env.BENCH_MONITOR_PROF;
    const nodeArgs = prof ? ['--cpu-prof', '--cpu-prof-dir', prof, '--cpu-prof-interval', '500'] : [];
    nodeArgs.push(...(process.env.BENCH_MONITOR_NODE_ARGS?.split(' ').filter(Boolean) ?? []));
    monitor = MonitorProcess.start(tb.ns('a'), dir, config('tcp'), 42, nodeArgs);
    const m = monitor;
    const initial = await waitCount(
      m,
      (e) => e.type === 'server' && e.record.cause === 'initial',
      SERVERS,
      0,
      30_000,
    );
    if (initial < SERVERS) throw new Error(`only ${initial} servers reported at start`);
    const cpu: Partial<Record<CheckKind, Cpu>> = {};
    const health: Figures = {};
    const measure = async (kind: CheckKind): Promise<void> => {
      await sleep(WARM_UP_MS);
      const from = m.records.length;
      cpu[kind] = await cpuPercent(m.pid, MEASURE_MS);
      health[`false downs while measuring, ${kind}`] = downs(m, from).size;
      health[`servers up at the end, ${kind}`] = upNow(m);
    };
    await measure('tcp');
    // Each other kind by a reload (the spec changes, so every check starts afresh).
    for (const kind of ['http', 'http keepAlive', 'https', 'https keepAlive'] as const) {
      writeFileSync(join(dir, 'monitor.json'), JSON.stringify(config(kind)));
      m.reload();
      await measure(kind);
    }

    const farmNames = (f: number): string[] =>
      Array.from({ length: perFarm }, (_, i) => nameOf(f * perFarm + i));
    // Time to weight 0 with the default HTTP check (a new connection per probe).
    writeFileSync(join(dir, 'monitor.json'), JSON.stringify(config('http')));
    const plainFrom = m.records.length;
    m.reload();
    await waitCount(m, (e) => e.type === 'server' && e.record.state === 'up', SERVERS / 2, plainFrom, 30_000);
    await sleep(3000);
    const plain = await failures(tb, m, farms, 0, 1, farmNames);

    writeFileSync(join(dir, 'monitor.json'), JSON.stringify(config('http', RETRY_MS)));
    const retryFrom = m.records.length;
    m.reload();
    await waitCount(m, (e) => e.type === 'server' && e.record.state === 'up', SERVERS / 2, retryFrom, 30_000);
    await sleep(3000);
    const retried = await failures(tb, m, farms, 2, 3, farmNames);

    await m.stop();
    const stopped: Record<string, unknown> = m.logs.find((l) => l.msg === 'monitor stopped') ?? {};
    const target = FALL * INTERVAL_MS + TIMEOUT_MS;
    return {
      'real servers': SERVERS,
      'interval (ms)': INTERVAL_MS,
      'timeout (ms)': TIMEOUT_MS,
      fall: FALL,
      'host load average (1 min) at the end': Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
      'floor: bare Node, same TCP connects (% of one core)': floor,
      'floor: the same on bare TCP handles (% of one core)': floorHandle,
      'floor: bare TCP handles, one GET each (% of one core)': floorHttp,
      ...Object.assign({}, ...Object.entries(cpu).map(([kind, c]) => cpuFigures(kind.toUpperCase(), c))),
      'CPU target (%)': 10,
      ...health,
      ...timeToZeroFigures('', plain),
      ...timeToZeroFigures(`with retryMs ${RETRY_MS}, `, retried),
      'time-to-zero target (ms)': target,
      'probes completed': Number(stopped.probesCompleted ?? Number.NaN),
      'probe timeouts': Number(stopped.timeouts ?? Number.NaN),
      'monitor timer lateness max (ms)': Number(stopped.maxTimerLatenessMs ?? Number.NaN),
      'monitor timer ticks': Number(stopped.ticks ?? Number.NaN),
    };
  } finally {
    await monitor?.stop();
    await Promise.all(farms.map((f) => f.dispose()));
    await tb?.down();
    rmSync(dir, { recursive: true, force: true });
  }
}

await benchMain(import.meta, 'monitor', run);
