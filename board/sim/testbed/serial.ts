import { existsSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { TestbedError } from './errors.ts';
import { inNamespace, killAndWait, type OwnProcess } from './processes.ts';
import { startPtyPair } from './socat.ts';
import type { Topology } from './topology.ts';

/** The serial null-modem cable: one socat in the switch namespace linking two ptys. */
export interface SerialHealth {
  readonly ok: boolean;
  readonly pid: number | undefined;
  readonly deviceA: string | undefined;
  readonly deviceB: string | undefined;
  readonly detail: string;
}

function ptyBehind(link: string): string | undefined {
  try {
    const device = realpathSync(link);
    return device.startsWith('/dev/pts/') && existsSync(device) ? device : undefined;
  } catch {
    return undefined;
  }
}

export function serialHealth(topology: Topology, processes: readonly OwnProcess[]): SerialHealth {
  const socats = processes.filter((p) => p.role === 'serial').map((p) => p.pid);
  const pid = socats.length === 1 ? socats[0] : undefined;
  const deviceA = ptyBehind(topology.serial.a);
  const deviceB = ptyBehind(topology.serial.b);
  const base = { pid, deviceA, deviceB };
  if (socats.length === 0) return { ...base, ok: false, detail: 'socat is not running' };
  if (pid === undefined)
    return { ...base, ok: false, detail: `${socats.length} socat processes (${socats.join(' ')})` };
  if (!inNamespace(pid, topology.serial.ns)) {
    return { ...base, ok: false, detail: `socat ${pid} is not in namespace ${topology.serial.ns}` };
  }
  if (!deviceA || !deviceB) {
    const missing = [deviceA ? undefined : topology.serial.a, deviceB ? undefined : topology.serial.b];
    return { ...base, ok: false, detail: `no pty behind ${missing.filter(Boolean).join(' and ')}` };
  }
  return {
    ...base,
    ok: true,
    detail: `${topology.serial.a} -> ${deviceA}, ${topology.serial.b} -> ${deviceB} (socat ${pid})`,
  };
}

/** Makes the cable whole: keeps a healthy socat, otherwise replaces it. Returns what it changed. */
export async function ensureSerial(topology: Topology, processes: readonly OwnProcess[]): Promise<string[]> {
  if (serialHealth(topology, processes).ok) return [];
  await killAndWait(processes.filter((p) => p.role === 'serial').map((p) => p.pid));
  // A stale link may point at a pty number someone else now holds: never reuse it.
  for (const link of [topology.serial.a, topology.serial.b]) rmSync(link, { force: true });
  try {
    const pair = await startPtyPair({ dir: topology.stateDir, netns: topology.serial.ns, detached: true });
    writeFileSync(topology.serial.pidFile, `${pair.pid}\n`);
    return [`serial cable ${pair.linkA} <-> ${pair.linkB} (socat ${pair.pid})`];
  } catch (err) {
    throw new TestbedError(
      'TESTBED_START_FAILED',
      `serial cable in ${topology.serial.ns} did not start: ${String(err)}`,
      {
        cause: err,
      },
    );
  }
}
