/**
 * Failover as a client sees it, Tandem against keepalived, on the same testbed and topology.
 *
 * A client in the client namespace opens a connection to VIP:80 every 10 ms (bounded) and GETs / (both
 * appliances forward it statelessly to a real server, as DR does: test/cluster/integration/support.ts);
 * an attempt not answered within 300 ms fails. For each fault the gap is the time from the last success
 * completed before it to the first completed after it, plus the failed requests, over REPS repetitions
 * of: power loss of the active (its links down, then its processes SIGKILLed), kill -9 of the active's
 * processes, and graceful handover (SIGTERM). Then a soak: the active's
 * CPUs saturated by busy loops for SOAK_S seconds, counting false takeovers and the heartbeat timer's
 * lateness, for Tandem with and without real-time scheduling and keepalived at advert 0.03 s.
 *
 * keepalived (Debian 12, 2.2.7) runs VRRPv3 on client0 with the same two floating addresses, as Debian
 * ships it (no real-time priority), nopreempt, GARP repeat 3 at 50 ms, started by the bench in the a/b
 * namespaces with generated configurations and killed by PID.
 *
 *   npx tsx bench/failover.ts   (TANDEM_BENCH_REPS=5, TANDEM_BENCH_SOAK_S=60 to change the run;
 *   TANDEM_BENCH_SCENARIOS=graceful,kill -9 and TANDEM_BENCH_SOAK_S=0 for a quick look)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterStatus } from '../firmware/cluster/service.ts';
import type { ClusterConfigInput } from '../firmware/cluster/types.ts';
import {
  bundleMain,
  bundleProbe,
  ClusterProcess,
  cableAtRealtime,
  gapAround,
  holders,
  prepareVipService,
  startProbe,
  waitFor,
  writeNodeConfig,
} from '../test/cluster/integration/support.ts';
import { captureArp } from '../test/hal/net/tcpdump.ts';
import { startTestbed, type Testbed } from '../test/support/testbed.ts';
import { benchMain, type Figures, percentile } from './lib/figures.ts';

type Node = 'a' | 'b';
type Scenario = 'power loss' | 'kill -9' | 'graceful';
const SCENARIOS: readonly Scenario[] = (['power loss', 'kill -9', 'graceful'] as const).filter(
  (s) => process.env.TANDEM_BENCH_SCENARIOS?.split(',').includes(s) ?? true,
);
const other = (n: Node): Node => (n === 'a' ? 'b' : 'a');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const wall = (): number => performance.timeOrigin + performance.now();

const REPS = Number(process.env.TANDEM_BENCH_REPS ?? 5);
/** `tandem` or `keepalived` to run only that half (for quick looks). */
const ONLY = process.env.TANDEM_BENCH_ONLY;
/** Tandem's timer sets to compare, keepalive/warn/dead in ms; the first is also soaked without RT. */
const TIMERS = (process.env.TANDEM_BENCH_TIMERS ?? '15/40/60,20/50/80').split(',').map((set) => {
  const [keepaliveMs, warnMs, deadMs] = set.split('/').map(Number);
  return { keepaliveMs, warnMs, deadMs, name: set };
});
const SOAK_S = Number(process.env.TANDEM_BENCH_SOAK_S ?? 60);
const NICS = ['client0', 'server0', 'hb0'];
const ATTEMPT_TIMEOUT_MS = 300;

/** One HA implementation on the testbed, as the scenarios drive it. */
interface Pair {
  readonly name: string;
  /** Both running, one active and the other ready to take over; returns the active. */
  settle(): Promise<Node>;
  /** SIGKILL every process of the node. */
  kill(node: Node): Promise<void>;
  /** SIGTERM: a graceful stop. Resolves once the node's processes are gone. */
  terminate(node: Node): Promise<void>;
  stop(): Promise<void>;
}

interface Row {
  system: string;
  scenario: string;
  gaps: number[];
  failed: number[];
  bothHold: number;
}

// ---------------------------------------------------------------------------------------------------
// Tandem

class TandemPair implements Pair {
  readonly procs: Partial<Record<Node, ClusterProcess>> = {};

  constructor(
    readonly name: string,
    private readonly tb: Testbed,
    private readonly dir: string,
    private readonly main: { argv: string[] },
    private readonly cluster: Partial<ClusterConfigInput>,
    private readonly realtime: boolean,
  ) {}

  private async start(n: Node): Promise<void> {
    const config = writeNodeConfig(this.tb, this.dir, n, { cluster: this.cluster, realtime: this.realtime });
    this.procs[n] = await ClusterProcess.start(this.tb, n, config, this.main);
  }

  async status(n: Node): Promise<ClusterStatus | undefined> {
    const p = this.procs[n];
    if (p === undefined || !p.running) return undefined;
    return p.status().catch(() => undefined);
  }

  async settle(): Promise<Node> {
    for (const n of ['a', 'b'] as const) if (!this.procs[n]?.running) await this.start(n);
    const roles = await waitFor(
      `${this.name}: one ACTIVE, one STANDBY`,
      async () => [await this.procs.a?.role(), await this.procs.b?.role()],
      (r) => r.includes('ACTIVE') && r.includes('STANDBY'),
      10_000,
    );
    const active: Node = roles[0] === 'ACTIVE' ? 'a' : 'b';
    await waitFor(
      'the addresses up',
      () => holders(this.tb),
      (h) => h.vip.join() === active,
      3000,
    );
    await sleep(300);
    return active;
  }

  async kill(n: Node): Promise<void> {
    const p = this.procs[n];
    p?.killAll();
    await p?.exited;
  }

  async terminate(n: Node): Promise<void> {
    const p = this.procs[n];
    p?.kill('SIGTERM');
    await p?.exited;
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.procs).map((p) => p?.stop('SIGKILL')));
  }
}

// ---------------------------------------------------------------------------------------------------
// keepalived

class KeepalivedPair implements Pair {
  private readonly procs: Partial<Record<Node, ChildProcess>> = {};
  readonly logs: Record<Node, string[]> = { a: [], b: [] };

  constructor(
    readonly name: string,
    private readonly tb: Testbed,
    private readonly dir: string,
    private readonly advertS: number,
  ) {}

  /** Starts so far: each start gets its own pid files (a SIGKILLed child may linger as a zombie). */
  private starts = 0;
  private current: Record<Node, number> = { a: 0, b: 0 };

  private file(n: Node, what: string): string {
    return join(this.dir, `keepalived-${this.advertS}-${n}-${this.current[n]}.${what}`);
  }

  private config(n: Node): string {
    const t = this.tb.addresses;
    return [
      'global_defs {',
      `  router_id tnd_${n}`,
      '  vrrp_version 3',
      '  vrrp_garp_master_delay 0',
      '  vrrp_garp_master_repeat 3',
      '  vrrp_garp_interval 0.05',
      '}',
      'vrrp_instance VI_1 {',
      '  state BACKUP',
      '  interface client0',
      '  virtual_router_id 51',
      `  priority ${n === 'a' ? 200 : 100}`,
      `  advert_int ${this.advertS}`,
      '  nopreempt',
      '  virtual_ipaddress {',
      `    ${t.vip}/24 dev client0`,
      `    ${t.serverGateway}/24 dev server0`,
      '  }',
      '}',
      '',
    ].join('\n');
  }

  private async start(n: Node): Promise<void> {
    // What a reboot would do: no address survives; keepalived's own start is then measured cleanly.
    for (const [nic, ip] of [
      ['client0', this.tb.addresses.vip],
      ['server0', this.tb.addresses.serverGateway],
    ] as const) {
      await this.tb.exec(n, ['ip', 'addr', 'del', `${ip}/24`, 'dev', nic], { allowFail: true });
    }
    this.starts += 1;
    this.current[n] = this.starts;
    writeFileSync(this.file(n, 'conf'), this.config(n));
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.tb.ns(n),
        'keepalived',
        '--dont-fork',
        '--log-console',
        '--vrrp',
        '--no-syslog',
        '--use-file',
        this.file(n, 'conf'),
        '--pid',
        this.file(n, 'pid'),
        '--vrrp_pid',
        this.file(n, 'vrrp.pid'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const log = (d: string): void => {
      for (const line of d.split('\n'))
        if (line.trim() !== '') this.logs[n].push(`${wall().toFixed(0)} ${line}`);
    };
    child.stdout?.setEncoding('utf8').on('data', log);
    child.stderr?.setEncoding('utf8').on('data', log);
    this.procs[n] = child;
    const from = this.logs[n].length;
    try {
      await waitFor(
        `keepalived ${n} started`,
        async () => this.logs[n].slice(from).some((l) => /Entering (BACKUP|MASTER) STATE/.test(l)),
        (v) => v,
        5000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; its log: ${this.logs[n].slice(from).join(' | ')}`);
    }
  }

  private pids(n: Node): number[] {
    const pids: number[] = [];
    const parent = this.procs[n];
    if (parent?.pid !== undefined && parent.exitCode === null && parent.signalCode === null)
      pids.push(parent.pid);
    try {
      pids.push(Number(readFileSync(this.file(n, 'vrrp.pid'), 'utf8').trim()));
    } catch {
      // not running
    }
    return pids.filter((p) => Number.isInteger(p) && p > 0);
  }

  masterEntries(n: Node, since: number): number {
    return this.logs[n].filter((l) => Number(l.split(' ')[0]) >= since && /Entering MASTER STATE/.test(l))
      .length;
  }

  async settle(): Promise<Node> {
    for (const n of ['a', 'b'] as const) {
      const p = this.procs[n];
      if (p === undefined || p.exitCode !== null || p.signalCode !== null) await this.start(n);
    }
    const h = await waitFor(
      'keepalived: one master',
      () => holders(this.tb),
      (v) => v.vip.length === 1,
      10_000,
    );
    await sleep(500);
    return h.vip[0] as Node;
  }

  async kill(n: Node): Promise<void> {
    const exited = this.exited(n);
    for (const pid of this.pids(n)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await exited;
  }

  async terminate(n: Node): Promise<void> {
    const exited = this.exited(n);
    this.procs[n]?.kill('SIGTERM');
    await exited;
  }

  private exited(n: Node): Promise<void> {
    const p = this.procs[n];
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
    return new Promise((r) => p.once('exit', () => r()));
  }

  async stop(): Promise<void> {
    for (const n of ['a', 'b'] as const) await this.kill(n);
  }
}

// ---------------------------------------------------------------------------------------------------

async function linksDown(tb: Testbed, n: Node, down: boolean): Promise<void> {
  const batch = NICS.map((nic) => `link set ${nic} ${down ? 'down' : 'up'}`).join('\n');
  await tb.exec(n, ['ip', '-batch', '-'], { input: `${batch}\n` });
}

interface Rep {
  gap: number;
  failed: number;
  /** Both appliances held the VIP once the fault had played out (before the dead one came back). */
  bothHold: boolean;
  /** Tandem only: fault to the new ACTIVE's decision, and decision to the first gratuitous ARP seen. */
  detectMs?: number;
  garpMs?: number;
}

async function oneFault(
  tb: Testbed,
  probe: { argv: string[] },
  pair: Pair,
  scenario: Scenario,
): Promise<Rep> {
  const active = await pair.settle();
  const run = startProbe(tb, probe, {
    target: `${tb.addresses.vip}:80`,
    everyMs: 10,
    count: 400,
    // An attempt that needs a retransmitted SYN (after 1 s) is an outage the client felt, not a success.
    timeoutMs: ATTEMPT_TIMEOUT_MS,
  });
  const arp = captureArp(tb.ns('client'), 'eth0', `arp and host ${tb.addresses.vip}`, 40, 3500);
  await arp.ready.catch(() => {});
  await run.flowing;
  await sleep(500);
  const at = wall();
  if (scenario === 'graceful') await pair.terminate(active);
  else if (scenario === 'kill -9') await pair.kill(active);
  else {
    // Power fails all at once: the links go dark first (the kernel would forward until then), and the
    // processes never run again.
    await linksDown(tb, active, true);
    await pair.kill(active);
  }
  const attempts = await run.done;
  // A box without power holds nothing; its namespace keeps the addresses only because it is simulated.
  const bothHold = scenario !== 'power loss' && (await holders(tb)).vip.length === 2;
  if (scenario === 'power loss') await linksDown(tb, active, false);
  const g = gapAround(attempts, at);
  if (!Number.isFinite(g.gapMs)) {
    const rel = (t: number | undefined): string => (t === undefined ? '-' : (t - at).toFixed(0));
    console.error(
      `    (no gap: ${attempts.length} attempts, ${g.ok} ok, first start ${rel(attempts[0]?.start)}, last end ${rel(attempts.at(-1)?.end)} ms from the fault)`,
    );
  }
  const rep: Rep = { gap: g.gapMs, failed: g.failed, bothHold };
  if (pair instanceof TandemPair) {
    const s = await pair.status(other(active));
    const took = s?.transitions.at(-1);
    const proc = pair.procs[other(active)];
    const decided = proc?.log.findLast((l) => /-> ACTIVE/.test(l.msg));
    if (took?.to === 'ACTIVE' && decided !== undefined) {
      const decidedAt = Date.parse(decided.t);
      rep.detectMs = decidedAt - at;
      const frames = await arp.frames;
      const first = frames.map((f) => f.time * 1000).find((t) => t > decidedAt - 1);
      if (first !== undefined) rep.garpMs = first - decidedAt;
    }
  }
  return rep;
}

function push(into: Record<string, number[]>, key: string, value: number): void {
  const list = into[key] ?? [];
  list.push(value);
  into[key] = list;
}

async function measure(
  tb: Testbed,
  probe: { argv: string[] },
  pair: Pair,
  rows: Row[],
  extra: Record<string, number[]>,
): Promise<void> {
  for (const scenario of SCENARIOS) {
    const row: Row = { system: pair.name, scenario, gaps: [], failed: [], bothHold: 0 };
    for (let i = 0; i < REPS; i++) {
      const rep = await oneFault(tb, probe, pair, scenario);
      row.gaps.push(rep.gap);
      row.failed.push(rep.failed);
      if (rep.bothHold) row.bothHold += 1;
      if (rep.detectMs !== undefined) push(extra, `${pair.name} ${scenario} detect`, rep.detectMs);
      if (rep.garpMs !== undefined) push(extra, `${pair.name} ${scenario} garp`, rep.garpMs);
    }
    rows.push(row);
    console.error(
      `  ${pair.name} ${scenario}: gaps ${row.gaps.map((g) => g.toFixed(0)).join(' ')} ms, failed ${row.failed.join(' ')}`,
    );
  }
}

/** Saturates the active's CPUs for `seconds` with busy loops run in its namespace (bounded by `timeout`). */
async function burn(tb: Testbed, n: Node, seconds: number, during: () => Promise<void>): Promise<void> {
  const loops = Array.from({ length: 4 }, () =>
    spawn('ip', ['netns', 'exec', tb.ns(n), 'timeout', String(seconds), 'sh', '-c', 'while :; do :; done'], {
      stdio: 'ignore',
    }),
  );
  try {
    await during();
  } finally {
    for (const l of loops) if (l.exitCode === null) l.kill('SIGKILL');
  }
}

interface Soak {
  system: string;
  falseTakeovers: number;
  /** Ticks of the active's heartbeat timer later than 10 ms, and the worst, during the soak. */
  late10?: number;
  ticks?: number;
  lateMaxMs?: number;
}

async function soakTandem(tb: Testbed, pair: TandemPair): Promise<Soak> {
  const active = await pair.settle();
  const standby = other(active);
  const before = [await pair.status(active), await pair.status(standby)];
  await burn(tb, active, SOAK_S, () => sleep(SOAK_S * 1000));
  await sleep(500);
  const after = [await pair.status(active), await pair.status(standby)];
  const took = (s: ClusterStatus | undefined, b: ClusterStatus | undefined): number =>
    (s?.transitions ?? []).filter((t) => t.to === 'ACTIVE' && t.at > (b?.transitions.at(-1)?.at ?? 0)).length;
  const [a0, s0] = before;
  const [a1, s1] = after;
  return {
    system: pair.name,
    falseTakeovers: took(s1, s0),
    late10: (a1?.timer.over10 ?? 0) - (a0?.timer.over10 ?? 0),
    ticks: (a1?.timer.ticks ?? 0) - (a0?.timer.ticks ?? 0),
    lateMaxMs: a1?.timer.maxMs ?? Number.NaN,
  };
}

async function soakKeepalived(tb: Testbed, pair: KeepalivedPair): Promise<Soak> {
  const active = await pair.settle();
  const since = wall();
  await burn(tb, active, SOAK_S, () => sleep(SOAK_S * 1000));
  await sleep(500);
  return { system: pair.name, falseTakeovers: pair.masterEntries(other(active), since) };
}

// ---------------------------------------------------------------------------------------------------

const fmt = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(0));

export async function run(): Promise<Figures> {
  const tb = await startTestbed({ realServers: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'tnd-failover-'));
  const main = await bundleMain();
  const probe = await bundleProbe();
  const rows: Row[] = [];
  const soaks: Soak[] = [];
  const extra: Record<string, number[]> = {};
  const pairs: Pair[] = [];
  try {
    await cableAtRealtime(tb);
    await prepareVipService(tb);
    if (ONLY !== 'keepalived') {
      for (const [i, t] of TIMERS.entries()) {
        const timers = { initDeadMs: 600, keepaliveMs: t.keepaliveMs, warnMs: t.warnMs, deadMs: t.deadMs };
        const tandem = new TandemPair(`tandem ${t.name}`, tb, dir, main, timers, true);
        pairs.push(tandem);
        await measure(tb, probe, tandem, rows, extra);
        if (SOAK_S > 0) soaks.push(await soakTandem(tb, tandem));
        await tandem.stop();
        if (i > 0 || SOAK_S === 0) continue;
        const noRt = new TandemPair(`tandem ${t.name} no RT`, tb, dir, main, timers, false);
        pairs.push(noRt);
        soaks.push(await soakTandem(tb, noRt));
        await noRt.stop();
      }
    }
    for (const advert of ONLY === 'tandem' ? [] : [0.1, 0.03]) {
      const ka = new KeepalivedPair(`keepalived ${advert}s`, tb, dir, advert);
      pairs.push(ka);
      await measure(tb, probe, ka, rows, extra);
      if (advert === 0.03 && SOAK_S > 0) soaks.push(await soakKeepalived(tb, ka));
      await ka.stop();
    }
  } finally {
    for (const p of pairs) await p.stop().catch(() => {});
    await tb.down();
    main.cleanup();
    probe.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }

  const lines = [
    '',
    `failover (client connects to the VIP every 10 ms; ${REPS} repetitions each; soak ${SOAK_S} s)`,
    `${'system'.padEnd(24)} ${'scenario'.padEnd(11)} ${'gap p50'.padStart(8)} ${'gap p99'.padStart(8)} ${'gap max'.padStart(8)} ${'failed'.padStart(7)} ${'both hold VIP'.padStart(14)}`,
  ];
  const figures: Figures = {};
  for (const r of rows) {
    const p50 = percentile(r.gaps, 50);
    const p99 = percentile(r.gaps, 99);
    const failed = r.failed.reduce((x, y) => x + y, 0);
    lines.push(
      `${r.system.padEnd(24)} ${r.scenario.padEnd(11)} ${fmt(p50).padStart(8)} ${fmt(p99).padStart(8)} ${fmt(Math.max(...r.gaps)).padStart(8)} ${String(failed).padStart(7)} ${`${r.bothHold}/${r.gaps.length}`.padStart(14)}`,
    );
    figures[`${r.system} ${r.scenario} both hold the VIP after`] = r.bothHold;
    figures[`${r.system} ${r.scenario} gap p50 (ms)`] = p50;
    figures[`${r.system} ${r.scenario} gap p99 (ms)`] = p99;
    figures[`${r.system} ${r.scenario} failed requests`] = failed;
  }
  for (const [k, v] of Object.entries(extra)) {
    const what = k.endsWith('detect') ? 'fault -> decision' : 'decision -> first GARP';
    lines.push(
      `${k.replace(/ (detect|garp)$/, '').padEnd(36)} ${what.padEnd(24)} p50 ${fmt(percentile(v, 50))} ms, max ${fmt(Math.max(...v))} ms`,
    );
    figures[`${k} p50 (ms)`] = percentile(v, 50);
  }
  lines.push(
    `${'soak'.padEnd(24)} ${'false takeovers'.padStart(16)} ${'ticks >10 ms late'.padStart(18)} ${'max late'.padStart(9)}`,
  );
  for (const s of soaks) {
    lines.push(
      `${s.system.padEnd(24)} ${String(s.falseTakeovers).padStart(16)} ${(s.late10 === undefined ? '-' : `${s.late10}/${s.ticks}`).padStart(18)} ${fmt(s.lateMaxMs).padStart(9)}`,
    );
    figures[`${s.system} soak false takeovers`] = s.falseTakeovers;
    if (s.late10 !== undefined) figures[`${s.system} soak ticks >10 ms late`] = s.late10;
    if (s.lateMaxMs !== undefined) figures[`${s.system} soak max timer lateness (ms)`] = s.lateMaxMs;
  }
  console.log(lines.join('\n'));
  return figures;
}

await benchMain(import.meta, 'failover', run);
