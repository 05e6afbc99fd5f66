import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TestbedError } from './errors.ts';
import { httpGet } from './http-probe.ts';
import { inNamespace, killAndWait, type OwnProcess } from './processes.ts';
import type { RealServer, Topology } from './topology.ts';

const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
const PROGRAM = join(import.meta.dirname, 'realserver.ts');
const START_TIMEOUT_MS = 20_000;

export interface RealServerHealth {
  readonly name: string;
  readonly ok: boolean;
  readonly pid: number | undefined;
  readonly detail: string;
}

export const pidFileOf = (topology: Topology, rs: RealServer): string =>
  join(topology.stateDir, `${rs.name}.pid`);
export const logFileOf = (topology: Topology, rs: RealServer): string =>
  join(topology.stateDir, `${rs.name}.log`);

/** Running once, in its own namespace, and answering GET / with its name. */
export async function realServerHealth(
  rs: RealServer,
  processes: readonly OwnProcess[],
): Promise<RealServerHealth> {
  const pids = processes.filter((p) => p.role === 'realserver' && p.name === rs.name).map((p) => p.pid);
  const pid = pids.length === 1 ? pids[0] : undefined;
  if (pids.length === 0) return { name: rs.name, ok: false, pid, detail: 'not running' };
  if (pid === undefined)
    return { name: rs.name, ok: false, pid, detail: `${pids.length} processes (${pids.join(' ')})` };
  if (!inNamespace(pid, rs.ns))
    return { name: rs.name, ok: false, pid, detail: `pid ${pid} is not in ${rs.ns}` };
  try {
    const answer = await httpGet(rs.ns, { host: rs.address, port: rs.port }, { timeoutMs: 2000 });
    if (answer.status === 200 && answer.body === `${rs.name}\n`) {
      return {
        name: rs.name,
        ok: true,
        pid,
        detail: `answers "${rs.name}" on ${rs.address}:${rs.port} (pid ${pid})`,
      };
    }
    return {
      name: rs.name,
      ok: false,
      pid,
      detail: `answered ${answer.status} ${JSON.stringify(answer.body)}`,
    };
  } catch (err) {
    return {
      name: rs.name,
      ok: false,
      pid,
      detail: `not answering: ${err instanceof Error ? err.message : err}`,
    };
  }
}

async function start(topology: Topology, rs: RealServer, signal: AbortSignal | undefined): Promise<number> {
  const pidFile = pidFileOf(topology, rs);
  rmSync(pidFile, { force: true });
  const log = openSync(logFileOf(topology, rs), 'a');
  const argv = ['netns', 'exec', rs.ns, process.execPath, '--import', 'tsx', PROGRAM];
  argv.push(
    '--testbed',
    topology.prefix,
    '--name',
    rs.name,
    '--port',
    String(rs.port),
    '--pid-file',
    pidFile,
  );
  // Detached: it outlives this command, and a Ctrl-C at the terminal does not reach it.
  const child = spawn('ip', argv, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (!existsSync(pidFile)) {
    const failed = child.exitCode !== null || child.signalCode !== null;
    if (failed || performance.now() > deadline || signal?.aborted) {
      if (child.pid !== undefined) await killAndWait([child.pid]);
      const tail = readFileSync(logFileOf(topology, rs), 'utf8').trim().split('\n').slice(-3).join(' | ');
      const why = signal?.aborted
        ? 'aborted'
        : failed
          ? `exited ${child.exitCode ?? child.signalCode}`
          : 'timed out';
      throw new TestbedError(
        'TESTBED_START_FAILED',
        `real server ${rs.name} in ${rs.ns} did not start (${why}): ${tail}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return Number(readFileSync(pidFile, 'utf8').trim());
}

/** Makes every real server healthy: keeps those that are, replaces the rest. Returns what it changed. */
export async function ensureRealServers(
  topology: Topology,
  processes: readonly OwnProcess[],
  options: { signal?: AbortSignal } = {},
): Promise<string[]> {
  const changes = await Promise.all(
    topology.realServers.map(async (rs) => {
      if ((await realServerHealth(rs, processes)).ok) return undefined;
      const old = processes.filter((p) => p.role === 'realserver' && p.name === rs.name).map((p) => p.pid);
      await killAndWait(old);
      const pid = await start(topology, rs, options.signal);
      const health = await realServerHealth(rs, [{ pid, role: 'realserver', name: rs.name }]);
      if (!health.ok) {
        throw new TestbedError('TESTBED_START_FAILED', `real server ${rs.name} started but ${health.detail}`);
      }
      return `real server ${rs.name} on ${rs.address}:${rs.port} (pid ${pid})`;
    }),
  );
  return changes.filter((c) => c !== undefined);
}
