import { rmSync } from 'node:fs';
import { deleteNetns, listNetns } from './netns.ts';
import { killAndWait, ownProcesses } from './processes.ts';
import { checkPrefix, DEFAULT_PREFIX, isTestbedNamespace, stateDirFor } from './topology.ts';

export interface DownResult {
  readonly namespaces: readonly string[];
  /** PIDs of testbed processes found by command line and killed (socat, real servers). */
  readonly processes: readonly number[];
}

/**
 * Removes everything the testbed `prefix` made. Needs nothing but the prefix, so it also cleans up after
 * a crash that lost the state dir: processes are found by command line, namespaces by name (deleting a
 * namespace kills what runs in it and takes its veths and bridges along), then the state dir goes.
 */
export async function down(options: { prefix?: string } = {}): Promise<DownResult> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const stateDir = stateDirFor(prefix);
  const processes = ownProcesses(prefix, stateDir).map((p) => p.pid);
  await killAndWait(processes);
  const namespaces = (await listNetns()).filter((ns) => isTestbedNamespace(prefix, ns));
  for (const ns of namespaces) await deleteNetns(ns);
  rmSync(stateDir, { recursive: true, force: true });
  return { namespaces, processes };
}
