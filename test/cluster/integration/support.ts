/**
 * Running the cluster process (firmware/cluster/main.ts) on the testbed: A and B in their namespaces,
 * each a real process with its drivers, journal, takeover and control socket. Used by the integration
 * tests and bench/failover.ts. Every process is owned: killed by PID at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { run } from '../../../board/sim/testbed/exec.ts';
import { killAndWait, ownProcesses } from '../../../board/sim/testbed/processes.ts';
import { provisionFor } from '../../../board/sim/testbed/provision.ts';
import { serialHealth } from '../../../board/sim/testbed/serial.ts';
import { controlRequest } from '../../../firmware/cluster/control.ts';
import type { ClusterStatus } from '../../../firmware/cluster/service.ts';
import type { ClusterConfigInput, Command, Role } from '../../../firmware/cluster/types.ts';
import { prepareDrReturnPath } from '../../support/dr-return.ts';
import type { Testbed } from '../../support/testbed.ts';
import type { Attempt } from './probe.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const MAIN = join(ROOT, 'firmware', 'cluster', 'main.ts');

export {
  HEARTBEAT_UDP_PORT as UDP_PORT,
  JOURNAL_PORT,
  TESTBED_CLUSTER_KEY as CLUSTER_KEY_HEX,
} from '../../../board/sim/testbed/provision.ts';

/** Timers for the tests: the defaults, with a shorter init-dead so a pair settles quickly. */
export const testCluster: Partial<ClusterConfigInput> = { initDeadMs: 600 };

/**
 * Bundles an entry point into one ESM file (esbuild, which tsx brings) so each start skips tsx's
 * transpiling: a cluster process then starts in a fraction of a second. Packages stay external (native
 * addons). Falls back to tsx when esbuild is unavailable.
 */
export async function bundle(entry: string): Promise<{ argv: string[]; cleanup(): void }> {
  const name = entry.split('/').pop()?.replace(/\.ts$/, '') ?? 'entry';
  const outfile = join(ROOT, 'node_modules', '.cache', 'tandem-cluster', `${name}-${process.pid}.mjs`);
  try {
    const esbuild = await import('esbuild');
    esbuild.buildSync({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outfile,
      logLevel: 'silent',
    });
    return { argv: [process.execPath, outfile], cleanup: () => rmSync(outfile, { force: true }) };
  } catch {
    return { argv: [process.execPath, '--import', 'tsx', entry], cleanup: () => {} };
  }
}

export const bundleMain = (): ReturnType<typeof bundle> => bundle(MAIN);
export const bundleProbe = (): ReturnType<typeof bundle> => bundle(join(import.meta.dirname, 'probe.ts'));

export interface NodeOptions {
  cluster?: Partial<ClusterConfigInput>;
  pingAddress?: string;
  releaseLingerMs?: number;
  realtime?: boolean;
  garp?: { count?: number; intervalMs?: number };
}

/** Writes the process configuration of node `node` into `dir`; returns its path. */
export function writeNodeConfig(tb: Testbed, dir: string, node: 'a' | 'b', o: NodeOptions = {}): string {
  const config = {
    ...provisionFor(tb.topology, node, { ...o, cluster: { ...testCluster, ...o.cluster } }),
    ...(o.releaseLingerMs === undefined ? {} : { releaseLingerMs: o.releaseLingerMs }),
  };
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `cluster-${node}.json`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

export interface LogLine {
  t: string;
  level: string;
  src: string;
  msg: string;
  [field: string]: unknown;
}

/** One cluster process inside an appliance namespace. */
export class ClusterProcess {
  readonly log: LogLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  control = '';
  /** The heartbeat process the host forked. */
  heartbeatPid = 0;

  private constructor(
    readonly node: 'a' | 'b',
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    if (child.stderr) {
      createInterface({ input: child.stderr }).on('line', (line) => {
        try {
          this.log.push(JSON.parse(line) as LogLine);
        } catch {
          this.log.push({ t: '', level: 'raw', src: 'stderr', msg: line });
        }
        if (this.log.length > 5000) this.log.splice(0, 1000);
      });
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  static async start(
    tb: Testbed,
    node: 'a' | 'b',
    configPath: string,
    main: { argv: string[] },
    timeoutMs = 15_000,
  ): Promise<ClusterProcess> {
    const [cmd, ...args] = [
      'ip',
      'netns',
      'exec',
      tb.ns(node),
      ...main.argv,
      '--config',
      configPath,
      '--board',
      'sim',
      '--prefix',
      tb.prefix,
      '--node',
      node,
    ] as [string, ...string[]];
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = new ClusterProcess(node, child);
    const ready = new Promise<{ control: string; heartbeatPid: number }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`cluster ${node} not ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        try {
          const msg = JSON.parse(line) as { ready?: boolean; control?: string; heartbeatPid?: number };
          if (msg.ready && msg.control) {
            clearTimeout(timer);
            resolve({ control: msg.control, heartbeatPid: msg.heartbeatPid ?? 0 });
          }
        } catch {
          // not ours
        }
      });
      void proc.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        const last = proc.log
          .slice(-5)
          .map((l) => l.msg)
          .join(' | ');
        reject(new Error(`cluster ${node} exited (${code ?? signal}) before ready: ${last}`));
      });
    });
    try {
      ({ control: proc.control, heartbeatPid: proc.heartbeatPid } = await ready);
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    }
    return proc;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGKILL to the host and its heartbeat process at once (by PID), as a power cut would stop both. */
  killAll(): void {
    try {
      if (this.heartbeatPid > 0) process.kill(this.heartbeatPid, 'SIGKILL');
    } catch {
      // already gone
    }
    this.kill('SIGKILL');
  }

  async status(): Promise<ClusterStatus> {
    const answer = (await controlRequest(this.control, { op: 'status' })) as {
      ok?: ClusterStatus;
      error?: unknown;
    };
    if (answer.ok === undefined) throw new Error(`status of ${this.node}: ${JSON.stringify(answer.error)}`);
    return answer.ok;
  }

  async role(): Promise<Role | 'DOWN'> {
    if (!this.running) return 'DOWN';
    try {
      return (await this.status()).role;
    } catch {
      return 'DOWN';
    }
  }

  /** Polls the role until it is `role`; the error names the node and the role it had. */
  async waitForRole(role: Role | 'DOWN', timeoutMs = 5000): Promise<void> {
    await waitFor(
      `${this.node.toUpperCase()} ${role}`,
      () => this.role(),
      (r) => r === role,
      timeoutMs,
    );
  }

  async command(
    command: Command,
  ): Promise<{ ok?: { role: Role }; error?: { code: string; message: string } }> {
    return (await controlRequest(this.control, { op: 'command', command })) as {
      ok?: { role: Role };
      error?: { code: string; message: string };
    };
  }

  /** Kills it by PID and waits for the exit (bounded). */
  async stop(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 5000): Promise<void> {
    if (!this.running) return;
    this.kill(signal);
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Polls `get` until `ok` holds; throws naming `what` and the last value after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  get: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<T> {
  const started = performance.now();
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (performance.now() - started > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(v)}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Which appliances hold the VIP on client0 (and the gateway on server0), from `ip -j addr`. */
export async function holders(tb: Testbed): Promise<{ vip: ('a' | 'b')[]; gateway: ('a' | 'b')[] }> {
  const out = { vip: [] as ('a' | 'b')[], gateway: [] as ('a' | 'b')[] };
  for (const node of ['a', 'b'] as const) {
    const { stdout } = await tb.exec(node, ['ip', '-o', '-4', 'addr', 'show']);
    if (stdout.includes(` ${tb.addresses.vip}/`)) out.vip.push(node);
    if (stdout.includes(` ${tb.addresses.serverGateway}/`)) out.gateway.push(node);
  }
  return out;
}

/** Waits until exactly `node` holds the VIP and the gateway (a release may linger a moment). */
export async function onlyOn(tb: Testbed, node: 'a' | 'b', timeoutMs = 3000): Promise<void> {
  await waitFor(
    `the VIP and the gateway only on ${node}`,
    () => holders(tb),
    (h) => h.vip.join() === node && h.gateway.join() === node,
    timeoutMs,
  );
}

/**
 * Lets the client reach the real servers through the VIP without the forwarding core, with its direct
 * routing scheme (firmware/forward/nft/program.ts): on both appliances a netdev ingress rule on client0
 * forwards VIP:80 to the first real server (stateless, no conntrack), which answers from the VIP through
 * the upstream router. Either appliance can carry any packet of any connection, so only the client's
 * ARP entry for the VIP decides where its packets go. The real servers' default route is the floating
 * gateway and the client's is the VIP, so GET <real server> checks plain routing through both.
 */
export async function prepareVipService(tb: Testbed): Promise<void> {
  const rs = tb.realServers[0];
  if (rs === undefined) throw new Error('the testbed has no real server');
  await prepareDrReturnPath(tb);
  for (const node of ['a', 'b'] as const) {
    const ruleset = [
      'table netdev tnd_vip {',
      '  chain ingress {',
      '    type filter hook ingress device client0 priority 0; policy accept;',
      // Only frames addressed to this box: the switch floods a dead peer's frames to it too.
      `    meta pkttype host ip daddr ${tb.addresses.vip} tcp dport 80 fwd ip to ${rs.address} device server0`,
      '  }',
      '}',
    ].join('\n');
    await tb.exec(node, ['nft', 'delete', 'table', 'netdev', 'tnd_vip'], { allowFail: true });
    await tb.exec(node, ['nft', '-f', '-'], { input: ruleset });
  }
}

/** GET / from the client, through the VIP (DNAT) and, routed, to the first real server's own address. */
export async function clientReaches(tb: Testbed): Promise<{ viaVip: string; routed: string }> {
  const rs = tb.realServers[0];
  const viaVip = await tb.httpGet('client', { host: tb.addresses.vip }).then(
    (a) => a.body.trim(),
    (e: unknown) => `error: ${(e as Error).message}`,
  );
  const routed = await tb.httpGet('client', { host: rs?.address ?? '' }).then(
    (a) => a.body.trim(),
    (e: unknown) => `error: ${(e as Error).message}`,
  );
  return { viaVip, routed };
}

/** Power loss of an appliance: its processes killed and every link down. */
export async function powerOff(tb: Testbed, proc: ClusterProcess): Promise<void> {
  proc.killAll();
  for (const nic of ['client0', 'server0', 'hb0'])
    await tb.exec(proc.node, ['ip', 'link', 'set', nic, 'down']);
  await proc.exited;
}

/** Power back on: links up (the process is started again by the caller, which reconciles the addresses). */
export async function powerOn(tb: Testbed, node: 'a' | 'b'): Promise<void> {
  for (const nic of ['client0', 'server0', 'hb0']) await tb.exec(node, ['ip', 'link', 'set', nic, 'up']);
}

/** The PID of the serial cable's socat (in the switch namespace). */
export function socatPid(tb: Testbed): number | undefined {
  return serialHealth(tb.topology, ownProcesses(tb.prefix, tb.topology.stateDir)).pid;
}

/**
 * Runs the serial cable's socat at real-time priority: a null-modem cable does not wait for a CPU, but
 * a userspace relay at normal priority can be starved for 100 ms on a loaded 2-core machine, which
 * would read as a cut cable. Call after `startTestbed()` and after every `tb.up()` that restarted it.
 */
export async function cableAtRealtime(tb: Testbed): Promise<void> {
  const pid = socatPid(tb);
  if (pid !== undefined) await run(['chrt', '--fifo', '--pid', '60', String(pid)]);
}

/** `tb.up()` (which restores a cut cable and downed links) with the new cable at real-time priority. */
export async function repair(tb: Testbed): Promise<void> {
  await tb.up();
  await cableAtRealtime(tb);
}

/** Cuts the serial cable: kills the testbed's socat by PID (`tb.up()` puts a new one in). */
export async function cutSerial(tb: Testbed): Promise<void> {
  const pid = socatPid(tb);
  if (pid === undefined) throw new Error('no socat to cut');
  await killAndWait([pid]);
}

/** A running probe (probe.ts) in the client namespace. */
export interface ProbeRun {
  /** Resolves at the first successful attempt (a process starts slowly on a loaded machine). */
  readonly flowing: Promise<void>;
  /** Every attempt, once the probe has finished (or was stopped). */
  readonly done: Promise<Attempt[]>;
  stop(): void;
}

export function startProbe(
  tb: Testbed,
  probe: { argv: string[] },
  o: { target: string; everyMs: number; count: number; timeoutMs: number },
): ProbeRun {
  const [cmd, ...args] = [
    'ip',
    'netns',
    'exec',
    tb.ns('client'),
    ...probe.argv,
    '--target',
    o.target,
    '--every',
    String(o.everyMs),
    '--count',
    String(o.count),
    '--timeout',
    String(o.timeoutMs),
  ] as [string, ...string[]];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const attempts: Attempt[] = [];
  let flow: () => void = () => {};
  const flowing = new Promise<void>((resolve) => {
    flow = resolve;
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      const a = JSON.parse(line) as Attempt & { done?: boolean };
      if (a.done === undefined) attempts.push(a);
      if (a.ok) flow();
    } catch {
      // ignore
    }
  });
  const limit = setTimeout(() => child.kill('SIGKILL'), o.count * o.everyMs + o.timeoutMs + 10_000);
  const done = new Promise<Attempt[]>((resolve) =>
    child.once('close', () => {
      clearTimeout(limit);
      resolve(attempts.sort((x, y) => x.i - y.i));
    }),
  );
  void done.then(() => flow());
  return { flowing, done, stop: () => child.kill('SIGTERM') };
}

export interface GapReport {
  /**
   * The client-visible outage: the longest time between two consecutive successful completions, from
   * the last success before the fault on (a fault may take effect a little after it is started). NaN
   * without a success on both sides of the fault.
   */
  gapMs: number;
  failed: number;
  ok: number;
}

/** The outage around a fault started at wall time `at` (ms). */
export function gapAround(attempts: readonly Attempt[], at: number): GapReport {
  const ends = attempts
    .filter((a) => a.ok)
    .map((a) => a.end)
    .sort((x, y) => x - y);
  const first = ends.findLastIndex((e) => e <= at);
  let gap = Number.NaN;
  if (first >= 0 && first < ends.length - 1) {
    gap = 0;
    for (let i = first; i < ends.length - 1; i++)
      gap = Math.max(gap, (ends[i + 1] as number) - (ends[i] as number));
  }
  return { gapMs: gap, failed: attempts.filter((a) => !a.ok).length, ok: ends.length };
}

/** Runs `body`; when it throws, prints the processes' recent log lines (for the failure report) first. */
export function withLogs(procs: () => readonly (ClusterProcess | undefined)[], body: () => Promise<void>) {
  return async (): Promise<void> => {
    const since = Date.now();
    try {
      await body();
    } catch (err) {
      const lines = procs()
        .flatMap((p) =>
          (p?.log ?? [])
            .filter((l) => Date.parse(l.t) >= since - 200)
            .map((l) => ({ at: Date.parse(l.t), text: `${p?.node} ${l.src} ${l.level} ${l.msg}` })),
        )
        .sort((x, y) => x.at - y.at)
        .slice(-250);
      console.error(lines.map((l) => `  ${l.at - since} ms ${l.text}`).join('\n'));
      throw err;
    }
  };
}

/** A suite hook that prints its error (uvu reports a failing hook without the reason). */
export function loudly(hook: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await hook();
    } catch (err) {
      console.error(`hook failed: ${err instanceof Error ? err.stack : String(err)}`);
      throw err;
    }
  };
}
