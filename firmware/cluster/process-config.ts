/**
 * The cluster process's configuration file (JSON), read by the host and by its heartbeat process:
 *
 *   node, peer        the journal's node names ("a", "b")
 *   key               the cluster key, hex (at least 16 bytes)
 *   cluster           the core's settings (firmware/cluster/config.ts); nodeId required
 *   udp               { local, peer, port }: the heartbeat addresses
 *   pingAddress       the ping node (with cluster.pingNode)
 *   journal           { listen: { host, port }, peer?: { host, port } }
 *   takeover          { addresses: [{ link, cidr }], garp?, refreshMs? }; the journal's running
 *                     configuration's `takeover` section, when present, replaces it
 *   releaseLingerMs, fencePulseMs   see ClusterServiceConfig
 *   realtime          ask for SCHED_FIFO for the heartbeat process (default true)
 *
 * Only the shape is checked here; each service's own resolver checks the values and names the field.
 */
import type { TakeoverConfigInput } from '../takeover/types.ts';
import { ClusterError } from './errors.ts';
import type { ClusterServiceConfig } from './service.ts';
import type { ClusterConfigInput } from './types.ts';

export interface ProcessConfig {
  node: string;
  peer: string;
  key: Buffer;
  cluster: ClusterConfigInput;
  udp?: { local: string; peer: string; port: number };
  pingAddress?: string;
  journal: { listen: { host: string; port: number }; peer?: { host: string; port: number } };
  takeover: TakeoverConfigInput;
  releaseLingerMs?: number;
  fencePulseMs?: number;
  realtime: boolean;
}

const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): boolean => typeof v === 'string' && v !== '';
const isEndpoint = (v: unknown): boolean =>
  isObject(v) && isText((v as { host?: unknown }).host) && Number.isInteger((v as { port?: unknown }).port);

function need<T>(source: string, value: unknown, what: string, check: (v: unknown) => boolean): T {
  if (value === undefined || !check(value)) {
    throw new ClusterError('CLUSTER_INVALID_CONFIG', `${source}: ${what} is missing or malformed`);
  }
  return value as T;
}

export function parseProcessConfig(text: string, source: string): ProcessConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ClusterError('CLUSTER_INVALID_CONFIG', `${source} is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new ClusterError('CLUSTER_INVALID_CONFIG', `${source} should be a JSON object`);
  const keyHex = need<string>(
    source,
    raw.key,
    'key (hex)',
    (v) => isText(v) && /^([0-9a-f]{2})+$/i.test(v as string),
  );
  const journal = need<ProcessConfig['journal']>(source, raw.journal, 'journal { listen }', isObject);
  need(source, journal.listen, 'journal.listen { host, port }', isEndpoint);
  if (journal.peer !== undefined) need(source, journal.peer, 'journal.peer { host, port }', isEndpoint);
  const udp =
    raw.udp === undefined
      ? undefined
      : need<ProcessConfig['udp']>(source, raw.udp, 'udp { local, peer, port }', isObject);
  const ping =
    raw.pingAddress === undefined ? undefined : need<string>(source, raw.pingAddress, 'pingAddress', isText);
  return {
    node: need(source, raw.node, 'node', isText),
    peer: need(source, raw.peer, 'peer', isText),
    key: Buffer.from(keyHex, 'hex'),
    cluster: need(source, raw.cluster, 'cluster { nodeId, … }', isObject),
    ...(udp === undefined ? {} : { udp }),
    ...(ping === undefined ? {} : { pingAddress: ping }),
    journal,
    takeover: need(source, raw.takeover, 'takeover { addresses }', isObject),
    ...(typeof raw.releaseLingerMs === 'number' ? { releaseLingerMs: raw.releaseLingerMs } : {}),
    ...(typeof raw.fencePulseMs === 'number' ? { fencePulseMs: raw.fencePulseMs } : {}),
    realtime: raw.realtime !== false,
  };
}

/** The cluster service's part of the file. */
export function serviceConfig(config: ProcessConfig): ClusterServiceConfig {
  return {
    core: config.cluster,
    key: config.key,
    ...(config.udp ? { udp: config.udp } : {}),
    ...(config.pingAddress ? { pingAddress: config.pingAddress } : {}),
    ...(config.releaseLingerMs === undefined ? {} : { releaseLingerMs: config.releaseLingerMs }),
    ...(config.fencePulseMs === undefined ? {} : { fencePulseMs: config.fencePulseMs }),
  };
}
