/**
 * Running the simulated appliances: `start` runs a node's supervisor (firmware/supervisor/main.ts) in the
 * node's namespace, detached like the real servers, with its PID file, stdout and log in the testbed's
 * state dir; `stop` is the graceful shutdown (SIGTERM: services stopped in order, the cluster hands over
 * and releases its addresses); `powerOff` is a power cut (every process in the node's namespace SIGKILLed
 * at once by PID, its links down); `powerOn` brings the links up and boots it (starts the supervisor).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureConsole } from './console.ts';
import { TestbedError } from './errors.ts';
import { run } from './exec.ts';
import { listNetns } from './netns.ts';
import { isRunning, killAndWait, ownProcesses } from './processes.ts';
import { provisionPath, writeProvision } from './provision.ts';
import { type ApplianceName, allIfaces, nodeNamespace, type Topology } from './topology.ts';

const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
const SUPERVISOR = join(REPO_ROOT, 'firmware', 'supervisor', 'main.ts');

export interface ApplianceFiles {
  readonly pidFile: string;
  /** The supervisor's stdout (its ready line). */
  readonly outFile: string;
  /** Its stderr: the supervisor's and every service's JSON log lines. */
  readonly logFile: string;
}

export function applianceFiles(topology: Topology, node: ApplianceName): ApplianceFiles {
  return {
    pidFile: join(topology.stateDir, `supervisor-${node}.pid`),
    outFile: join(topology.stateDir, `supervisor-${node}.out`),
    logFile: join(topology.stateDir, `supervisor-${node}.log`),
  };
}

/** The PID of node's running supervisor, found by command line (PID files can be stale). */
export function supervisorPid(topology: Topology, node: ApplianceName): number | undefined {
  return ownProcesses(topology.prefix, topology.stateDir).find(
    (p) => p.role === 'supervisor' && p.node === node,
  )?.pid;
}

async function requireNamespace(topology: Topology, node: ApplianceName): Promise<string> {
  const ns = nodeNamespace(topology, node);
  if (!(await listNetns()).includes(ns)) {
    throw new TestbedError(
      'TESTBED_NOT_FOUND',
      `testbed ${topology.prefix} is not up: namespace ${ns} does not exist (run: tandem sim up)`,
    );
  }
  return ns;
}

export interface StartOptions {
  /** The node's provisioning file; default `<state>/provision-<node>.json`, written when absent. */
  readonly provision?: string;
  /** More supervisor arguments (`--services cluster`, `--watchdog-timeout 3`, …). */
  readonly args?: readonly string[];
  /** How long to wait for its ready line; default 60 s. */
  readonly timeoutMs?: number;
}

export interface Started {
  readonly pid: number;
  /** The supervisor's ready line, parsed. */
  readonly ready: Record<string, unknown>;
  readonly files: ApplianceFiles;
}

/** Starts node's supervisor and waits for its ready line. TESTBED_START_FAILED names its last log lines. */
export async function startAppliance(
  topology: Topology,
  node: ApplianceName,
  o: StartOptions = {},
): Promise<Started> {
  const ns = await requireNamespace(topology, node);
  const running = supervisorPid(topology, node);
  if (running !== undefined) {
    throw new TestbedError(
      'TESTBED_INVALID_ARGUMENT',
      `appliance ${node} is already running (supervisor pid ${running})`,
    );
  }
  let provision = o.provision;
  if (provision === undefined) {
    provision = provisionPath(topology, node);
    if (!existsSync(provision)) writeProvision(topology);
  }
  if (!existsSync(provision)) {
    throw new TestbedError('TESTBED_INVALID_ARGUMENT', `provisioning file ${provision} does not exist`);
  }
  await ensureConsole(topology, node);
  const files = applianceFiles(topology, node);
  rmSync(files.outFile, { force: true });
  const out = openSync(files.outFile, 'w');
  const log = openSync(files.logFile, 'a');
  const argv = ['netns', 'exec', ns, process.execPath, '--import', 'tsx', SUPERVISOR];
  argv.push('--board', 'sim', '--prefix', topology.prefix, '--node', node, '--provision', provision);
  argv.push(...(o.args ?? []));
  // Detached: it outlives this command, and a Ctrl-C at the terminal does not reach it.
  const child = spawn('ip', argv, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', out, log] });
  closeSync(out);
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined)
    throw new TestbedError('TESTBED_START_FAILED', `cannot start the supervisor of ${node}`);
  writeFileSync(files.pidFile, `${pid}\n`);
  const deadline = performance.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    const ready = readyLine(files.outFile);
    if (ready !== undefined) return { pid, ready, files };
    if (!isRunning(pid) || performance.now() > deadline) {
      if (isRunning(pid)) await killAndWait([pid]);
      rmSync(files.pidFile, { force: true });
      throw new TestbedError(
        'TESTBED_START_FAILED',
        `the supervisor of ${node} ${isRunning(pid) ? 'was not ready in time' : 'exited'}: ${lastLines(files.logFile, 5)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function readyLine(path: string): Record<string, unknown> | undefined {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    try {
      const v = JSON.parse(line) as Record<string, unknown>;
      if (v.ready === true) return v;
    } catch {
      // not the ready line
    }
  }
  return undefined;
}

function lastLines(path: string, n: number): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-n).join(' | ');
  } catch {
    return '(no log)';
  }
}

/**
 * The graceful stop: SIGTERM to the supervisor, then wait (bounded) for it to exit. Resolves with its
 * PID, or undefined when it was not running. A supervisor that does not exit in time is SIGKILLed with
 * everything in the node's namespace, and TESTBED_START_FAILED says so.
 */
export async function stopAppliance(
  topology: Topology,
  node: ApplianceName,
  o: { timeoutMs?: number } = {},
): Promise<number | undefined> {
  const pid = supervisorPid(topology, node);
  const files = applianceFiles(topology, node);
  if (pid === undefined) {
    rmSync(files.pidFile, { force: true });
    return undefined;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = performance.now() + (o.timeoutMs ?? 30_000);
  while (isRunning(pid) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  rmSync(files.pidFile, { force: true });
  if (isRunning(pid)) {
    await killNamespace(topology, node);
    throw new TestbedError(
      'TESTBED_START_FAILED',
      `the supervisor of ${node} (pid ${pid}) did not stop in time: killed`,
    );
  }
  return pid;
}

/** SIGKILLs every process in node's namespace at once (by PID); returns the PIDs. */
async function killNamespace(topology: Topology, node: ApplianceName): Promise<number[]> {
  const ns = nodeNamespace(topology, node);
  const { stdout } = await run(['ip', 'netns', 'pids', ns], { allowFail: true });
  const pids = stdout.split(/\s+/).filter(Boolean).map(Number);
  await killAndWait(pids);
  return pids;
}

/** The node's own interfaces (client0, server0, hb0). */
const nicsOf = (topology: Topology, node: ApplianceName): string[] =>
  allIfaces(topology)
    .filter((i) => i.node === node)
    .map((i) => i.name);

/** A power cut: every process of the node killed at once, every link down. Returns the killed PIDs. */
export async function powerOff(topology: Topology, node: ApplianceName): Promise<number[]> {
  const ns = await requireNamespace(topology, node);
  const pids = await killNamespace(topology, node);
  for (const nic of nicsOf(topology, node)) await run(['ip', '-n', ns, 'link', 'set', nic, 'down']);
  rmSync(applianceFiles(topology, node).pidFile, { force: true });
  return pids;
}

/** Power back: links up, then the supervisor boots (unless `boot: false`). */
export async function powerOn(
  topology: Topology,
  node: ApplianceName,
  o: StartOptions & { boot?: boolean } = {},
): Promise<Started | undefined> {
  const ns = await requireNamespace(topology, node);
  for (const nic of nicsOf(topology, node)) await run(['ip', '-n', ns, 'link', 'set', nic, 'up']);
  if (o.boot === false) return undefined;
  return startAppliance(topology, node, o);
}
