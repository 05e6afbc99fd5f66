import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { abortError } from '../../../hal/errors.ts';
import { TestbedError } from './errors.ts';
import { run } from './exec.ts';
import { deleteNetns, listNetns } from './netns.ts';
import { observe } from './observe.ts';
import { planNetwork, strayNamespaces } from './plan.ts';
import { ownProcesses } from './processes.ts';
import { ensureRealServers } from './realservers.ts';
import { ensureSerial } from './serial.ts';
import { readSavedOptions, saveOptions } from './state.ts';
import {
  buildTopology,
  checkPrefix,
  DEFAULT_PREFIX,
  DEFAULT_REAL_SERVERS,
  realServersIn,
  type Topology,
} from './topology.ts';

export interface TestbedOptions {
  prefix?: string;
  /** Default: what `up` was last given for this prefix, else what exists, else 3. */
  realServers?: number;
}

/** The topology a command means: explicit options first, then the saved ones, then what exists. */
export async function resolveTopology(options: TestbedOptions = {}): Promise<Topology> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const realServers =
    options.realServers ??
    readSavedOptions(prefix)?.realServers ??
    realServersIn(prefix, await listNetns()) ??
    DEFAULT_REAL_SERVERS;
  return buildTopology({ prefix, realServers });
}

export interface UpResult {
  readonly topology: Topology;
  /** What this run made or repaired, for people; empty when the testbed was already whole. */
  readonly changes: readonly string[];
}

/**
 * Builds the testbed, or completes a half-built one: idempotent, so a second run changes nothing.
 * Interrupted (signal), it leaves a partial testbed that the next `up` completes or `down` removes.
 */
export async function up(
  options: TestbedOptions & { signal?: AbortSignal; onProgress?: (line: string) => void } = {},
): Promise<UpResult> {
  const { signal } = options;
  const topology = await resolveTopology(options);
  const changes: string[] = [];
  const note = (line: string): void => {
    changes.push(line);
    options.onProgress?.(line);
  };
  const check = (): void => {
    if (signal?.aborted) throw abortError(signal, `testbed ${topology.prefix}`);
  };
  check();
  mkdirSync(topology.stateDir, { recursive: true });

  for (const ns of strayNamespaces(topology, await listNetns())) {
    await deleteNetns(ns);
    const node = ns.slice(topology.prefix.length + 1);
    for (const file of [`${node}.pid`, `${node}.log`]) rmSync(join(topology.stateDir, file), { force: true });
    note(`removed ${ns} (not in a ${topology.realServers.length}-server testbed)`);
  }

  const steps = planNetwork(topology, (await observe(topology)).observed);
  for (const step of steps) {
    check();
    await run(step.argv, signal ? { signal } : {});
  }
  if (steps.length > 0) {
    note(`network: applied ${steps.length} changes`);
    const left = planNetwork(topology, (await observe(topology)).observed);
    if (left.length > 0) {
      throw new TestbedError(
        'TESTBED_START_FAILED',
        `testbed ${topology.prefix}: still not right after building: ${left.map((s) => s.what).join('; ')}`,
      );
    }
  }
  saveOptions(topology);

  check();
  const processes = ownProcesses(topology.prefix, topology.stateDir);
  for (const line of await ensureSerial(topology, processes)) note(line);
  check();
  for (const line of await ensureRealServers(topology, processes, signal ? { signal } : {})) note(line);
  return { topology, changes };
}
