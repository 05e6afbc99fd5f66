import { join } from 'node:path';
import { TestbedError } from './errors.ts';

/**
 * The simulated cluster as data: from `{ prefix, realServers }` every namespace, bridge, veth, address,
 * route and process location the testbed builds. Pure: nothing here touches the system.
 *
 * Wiring: a switch namespace holds two bridges, `br-client` (client, A's client0, B's client0) and
 * `br-server` (A's server0, B's server0, rs1..N). A and B also share a dedicated veth, `hb0`, the Ethernet
 * heartbeat cable. Only documentation ranges are used, and only inside the testbed's namespaces.
 */

export const DEFAULT_PREFIX = 'tnd';
export const DEFAULT_REAL_SERVERS = 3;
export const MAX_REAL_SERVERS = 50;
export const STATE_ROOT = '/run/tandem-sim';
export const REAL_SERVER_PORT = 80;

/** Reserved, never configured by the testbed: the cluster's first VIP and its floating server-side gateway. */
export const VIP = '192.0.2.100';
export const SERVER_GATEWAY = '198.51.100.1';
export const CLIENT_NET = '192.0.2.0/24';
export const SERVER_NET = '198.51.100.0/24';
export const HEARTBEAT_NET = '203.0.113.0/30';

export type ApplianceName = 'a' | 'b';
export type RealServerName = `rs${number}`;
export type NodeName = 'client' | ApplianceName | 'sw' | RealServerName;

export interface Iface {
  readonly node: NodeName;
  readonly ns: string;
  readonly name: string;
  /** Addresses with prefix length, e.g. `192.0.2.2/24`. */
  readonly addresses: readonly string[];
  /** The bridge this interface is a port of (switch side only). */
  readonly master?: string;
}

/** A veth pair, created from `a`'s namespace with its peer `b` moved straight into `b`'s. */
export interface Veth {
  readonly a: Iface;
  readonly b: Iface;
}

export interface Bridge {
  readonly ns: string;
  readonly name: string;
}

export interface Route {
  readonly node: NodeName;
  readonly ns: string;
  /** `default` or a CIDR. */
  readonly dst: string;
  readonly via: string;
  readonly dev: string;
}

export interface RealServer {
  readonly name: RealServerName;
  readonly ns: string;
  readonly address: string;
  readonly port: number;
}

export interface ApplianceAddresses {
  readonly client: string;
  readonly server: string;
  readonly heartbeat: string;
}

export interface Topology {
  readonly prefix: string;
  readonly stateDir: string;
  /** Every node with its namespace, in creation order. */
  readonly nodes: readonly { readonly name: NodeName; readonly ns: string }[];
  readonly bridges: readonly Bridge[];
  readonly veths: readonly Veth[];
  readonly routes: readonly Route[];
  /** Namespaces with IPv4 forwarding on (the appliances). */
  readonly forwarding: readonly string[];
  /** The serial null-modem cable: socat runs in `ns`; `a` and `b` are the pty symlinks. */
  readonly serial: { readonly ns: string; readonly a: string; readonly b: string; readonly pidFile: string };
  readonly realServers: readonly RealServer[];
  readonly addresses: {
    readonly client: string;
    readonly a: ApplianceAddresses;
    readonly b: ApplianceAddresses;
    readonly vip: string;
    readonly serverGateway: string;
  };
}

export interface TopologyOptions {
  prefix?: string;
  realServers?: number;
}

const PREFIX_RE = /^tnd(?:[a-z0-9-]*[a-z0-9])?$/;

/** Throws TESTBED_INVALID_ARGUMENT unless `prefix` is a usable name prefix (starts with `tnd`). */
export function checkPrefix(prefix: string): string {
  if (!PREFIX_RE.test(prefix) || prefix.length > 40) {
    throw new TestbedError(
      'TESTBED_INVALID_ARGUMENT',
      `testbed prefix "${prefix}" is not usable: it must start with "tnd", use only a-z, 0-9 and "-", ` +
        'not end with "-", and be at most 40 characters',
    );
  }
  return prefix;
}

export function checkRealServers(count: number): number {
  if (!Number.isInteger(count) || count < 1 || count > MAX_REAL_SERVERS) {
    throw new TestbedError(
      'TESTBED_INVALID_ARGUMENT',
      `real server count ${count} is not usable: expected a whole number from 1 to ${MAX_REAL_SERVERS}`,
    );
  }
  return count;
}

export function stateDirFor(prefix: string): string {
  return join(STATE_ROOT, checkPrefix(prefix));
}

/** True when namespace `ns` is one this prefix's testbed makes (any real server count). */
export function isTestbedNamespace(prefix: string, ns: string): boolean {
  const rest = ns.startsWith(`${prefix}-`) ? ns.slice(prefix.length + 1) : undefined;
  return rest !== undefined && /^(?:client|a|b|sw|rs[1-9]\d*)$/.test(rest);
}

/** The real server count implied by a set of existing namespaces (the highest rsK), or undefined. */
export function realServersIn(prefix: string, namespaces: readonly string[]): number | undefined {
  let max: number | undefined;
  for (const ns of namespaces) {
    if (!isTestbedNamespace(prefix, ns)) continue;
    const m = /-rs(\d+)$/.exec(ns);
    if (m) max = Math.max(max ?? 0, Number(m[1]));
  }
  return max;
}

export function buildTopology(options: TopologyOptions = {}): Topology {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const count = checkRealServers(options.realServers ?? DEFAULT_REAL_SERVERS);
  const stateDir = stateDirFor(prefix);
  const ns = (node: NodeName): string => `${prefix}-${node}`;
  const sw = ns('sw');

  const a: ApplianceAddresses = { client: '192.0.2.2', server: '198.51.100.2', heartbeat: '203.0.113.1' };
  const b: ApplianceAddresses = { client: '192.0.2.3', server: '198.51.100.3', heartbeat: '203.0.113.2' };
  const clientAddress = '192.0.2.10';
  const realServers: RealServer[] = Array.from({ length: count }, (_, i) => {
    const name: RealServerName = `rs${i + 1}`;
    return { name, ns: ns(name), address: `198.51.100.${11 + i}`, port: REAL_SERVER_PORT };
  });

  const port = (name: string, bridge: string): Iface => ({
    node: 'sw',
    ns: sw,
    name,
    addresses: [],
    master: bridge,
  });
  const nic = (node: NodeName, name: string, address: string, len: number): Iface => ({
    node,
    ns: ns(node),
    name,
    addresses: [`${address}/${len}`],
  });

  const veths: Veth[] = [
    { a: nic('client', 'eth0', clientAddress, 24), b: port('client', 'br-client') },
    { a: nic('a', 'client0', a.client, 24), b: port('a-client', 'br-client') },
    { a: nic('b', 'client0', b.client, 24), b: port('b-client', 'br-client') },
    { a: nic('a', 'server0', a.server, 24), b: port('a-server', 'br-server') },
    { a: nic('b', 'server0', b.server, 24), b: port('b-server', 'br-server') },
    ...realServers.map((rs) => ({ a: nic(rs.name, 'eth0', rs.address, 24), b: port(rs.name, 'br-server') })),
    { a: nic('a', 'hb0', a.heartbeat, 30), b: nic('b', 'hb0', b.heartbeat, 30) },
  ];

  const routes: Route[] = [
    { node: 'client', ns: ns('client'), dst: 'default', via: VIP, dev: 'eth0' },
    ...realServers.map((rs) => ({
      node: rs.name,
      ns: rs.ns,
      dst: 'default',
      via: SERVER_GATEWAY,
      dev: 'eth0',
    })),
  ];

  const nodeNames: NodeName[] = ['sw', 'client', 'a', 'b', ...realServers.map((rs) => rs.name)];
  return {
    prefix,
    stateDir,
    nodes: nodeNames.map((name) => ({ name, ns: ns(name) })),
    bridges: [
      { ns: sw, name: 'br-client' },
      { ns: sw, name: 'br-server' },
    ],
    veths,
    routes,
    forwarding: [ns('a'), ns('b')],
    serial: {
      ns: sw,
      a: join(stateDir, 'serial-a'),
      b: join(stateDir, 'serial-b'),
      pidFile: join(stateDir, 'socat.pid'),
    },
    realServers,
    addresses: { client: clientAddress, a, b, vip: VIP, serverGateway: SERVER_GATEWAY },
  };
}

/** The namespace of `node`, or TESTBED_INVALID_ARGUMENT naming the nodes that exist. */
export function nodeNamespace(topology: Topology, node: string): string {
  const found = topology.nodes.find((n) => n.name === node);
  if (found) return found.ns;
  const last = topology.realServers.length;
  throw new TestbedError(
    'TESTBED_INVALID_ARGUMENT',
    `unknown testbed node "${node}": expected one of client, a, b, sw, rs1${last > 1 ? `..rs${last}` : ''}`,
  );
}

/**
 * Routes that let the client reach the real servers through one appliance's own addresses, until a
 * cluster owns the VIP and the server-side gateway. More specific than the defaults, so they never take
 * the reserved addresses; `clearInterimRoutes` removes them.
 */
export function interimRoutes(topology: Topology, via: ApplianceName): Route[] {
  const appliance = topology.addresses[via];
  return [
    {
      node: 'client',
      ns: nodeNamespace(topology, 'client'),
      dst: SERVER_NET,
      via: appliance.client,
      dev: 'eth0',
    },
    ...topology.realServers.map((rs) => ({
      node: rs.name,
      ns: rs.ns,
      dst: CLIENT_NET,
      via: appliance.server,
      dev: 'eth0',
    })),
  ];
}

/** Every interface of the topology (both ends of each veth). */
export function allIfaces(topology: Topology): Iface[] {
  return topology.veths.flatMap((v) => [v.a, v.b]);
}
