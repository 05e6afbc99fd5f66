/**
 * Provisioning the testbed's two appliances: each node's file is the cluster process's configuration
 * (firmware/cluster/process-config.ts), derived from the topology: heartbeat UDP and the journal over
 * hb0, the VIP on client0 and the floating server-side gateway on server0 (the real servers' default
 * route), one shared cluster key. A is node 1 with the higher priority.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterConfigInput } from '../../../firmware/cluster/types.ts';
import type { ApplianceName, Topology } from './topology.ts';

/** The testbed's cluster key (hex). A real pair gets a random one at provisioning. */
export const TESTBED_CLUSTER_KEY = '54616e64656d2074657374206b657920666f722074686520636c7573746572';
export const HEARTBEAT_UDP_PORT = 7400;
export const JOURNAL_PORT = 7411;

export interface ProvisionOptions {
  /** Overrides of the cluster core's settings (timers, preemption…). */
  readonly cluster?: Partial<ClusterConfigInput>;
  readonly pingAddress?: string;
  readonly realtime?: boolean;
  readonly garp?: { readonly count?: number; readonly intervalMs?: number };
}

/** The provisioning document of `node` (pure). */
export function provisionFor(topology: Topology, node: ApplianceName, o: ProvisionOptions = {}) {
  const me = topology.addresses[node];
  const other = topology.addresses[node === 'a' ? 'b' : 'a'];
  return {
    node,
    peer: node === 'a' ? 'b' : 'a',
    key: TESTBED_CLUSTER_KEY,
    cluster: {
      nodeId: node === 'a' ? 1 : 2,
      priority: node === 'a' ? 200 : 100,
      ...(o.pingAddress === undefined ? {} : { pingNode: true }),
      ...o.cluster,
    },
    udp: { local: me.heartbeat, peer: other.heartbeat, port: HEARTBEAT_UDP_PORT },
    ...(o.pingAddress === undefined ? {} : { pingAddress: o.pingAddress }),
    journal: {
      listen: { host: me.heartbeat, port: JOURNAL_PORT },
      // A dials B; B accepts.
      ...(node === 'a' ? { peer: { host: other.heartbeat, port: JOURNAL_PORT } } : {}),
    },
    takeover: {
      addresses: [
        { link: 'client0', cidr: `${topology.addresses.vip}/24` },
        { link: 'server0', cidr: `${topology.addresses.serverGateway}/24` },
      ],
      garp: { count: 3, intervalMs: 50, ...o.garp },
    },
    realtime: o.realtime ?? true,
  };
}

/** Where `tandem sim start` keeps a node's provisioning by default. */
export const provisionPath = (topology: Topology, node: ApplianceName): string =>
  join(topology.stateDir, `provision-${node}.json`);

/** Writes both nodes' provisioning files into the testbed's state dir; returns their paths. */
export function writeProvision(topology: Topology, o: ProvisionOptions = {}): Record<ApplianceName, string> {
  mkdirSync(topology.stateDir, { recursive: true });
  const out = { a: provisionPath(topology, 'a'), b: provisionPath(topology, 'b') };
  for (const node of ['a', 'b'] as const) {
    writeFileSync(`${out[node]}.tmp`, `${JSON.stringify(provisionFor(topology, node, o), null, 2)}\n`);
    renameSync(`${out[node]}.tmp`, out[node]);
  }
  return out;
}
