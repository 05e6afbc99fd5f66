/**
 * The simulated pair as an operator's tools see it from the host: each appliance's sockets are plain files
 * under the testbed's state directory, so status, configuration and the panel are reachable without
 * entering a namespace.
 */

import type { ApplianceName, Topology } from '../../board/sim/testbed/topology.ts';
import { simBoard } from '../../board/sim.ts';
import { controlRequest } from '../../firmware/cluster/control.ts';
import type { ClusterStatus } from '../../firmware/cluster/service.ts';
import { validateConfig } from '../../firmware/config/validate.ts';
import type { CommitResult } from '../../firmware/journal/index.ts';
import { connectJournal } from '../../firmware/journal/remote/index.ts';
import type { ConfigDoc } from '../../firmware/journal/types.ts';
import { type SimPanelClient, simPanelClient } from '../../firmware/panel/sim-client.ts';
import { type RuntimePaths, runtimePaths } from '../../firmware/runtime/paths.ts';

export const APPLIANCES: readonly ApplianceName[] = ['a', 'b'];

export function pathsOf(topology: Topology, node: ApplianceName): RuntimePaths {
  return runtimePaths(simBoard({ prefix: topology.prefix, node }));
}

/** The node's cluster status, or undefined when its cluster process does not answer (down, powered off). */
export async function clusterStatus(
  topology: Topology,
  node: ApplianceName,
  timeoutMs = 2000,
): Promise<ClusterStatus | undefined> {
  try {
    const answer = (await controlRequest(
      pathsOf(topology, node).clusterSocket,
      { op: 'status' },
      timeoutMs,
    )) as {
      ok?: ClusterStatus;
    };
    return answer.ok;
  } catch {
    return undefined;
  }
}

/** The appliance that is ACTIVE now, if exactly one is. */
export async function activeNode(topology: Topology): Promise<ApplianceName | undefined> {
  const roles = await Promise.all(APPLIANCES.map((n) => clusterStatus(topology, n)));
  const active = APPLIANCES.filter((_, i) => roles[i]?.role === 'ACTIVE');
  return active.length === 1 ? active[0] : undefined;
}

export class ConfigRefused extends Error {
  override readonly name = 'ConfigRefused';
}

/**
 * Validates `doc` and commits it on the ACTIVE appliance's journal, which replicates it to the peer.
 * Throws ConfigRefused naming every field that is wrong; nothing is committed then.
 */
export async function commitConfig(
  topology: Topology,
  doc: unknown,
  options: { author: string; comment: string },
): Promise<{ node: ApplianceName; result: CommitResult }> {
  const checked = validateConfig(doc);
  if (!checked.ok) {
    throw new ConfigRefused(
      `the configuration is not valid: ${checked.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    );
  }
  const node = await activeNode(topology);
  if (node === undefined) throw new ConfigRefused('no appliance is ACTIVE: start the pair first');
  const journal = await connectJournal({ path: pathsOf(topology, node).journalSocket, timeoutMs: 5000 });
  try {
    const result = await journal.config.commit({ ...options, doc: doc as ConfigDoc });
    return { node, result };
  } finally {
    await journal.close();
  }
}

export function panelOf(topology: Topology, node: ApplianceName): SimPanelClient {
  return simPanelClient(pathsOf(topology, node).panelSimSocket);
}
