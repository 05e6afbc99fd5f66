import { allIfaces, isTestbedNamespace, type Route, type Topology } from './topology.ts';

/**
 * The network part of `up` as a reconciler: compare the topology with what the kernel has (Observed) and
 * list the commands that close the gap, in dependency order. Pure. What is already right produces no
 * step, so running the plan of a whole testbed does nothing, and a half-built one is completed.
 * Extra addresses and routes are left alone: the cluster adds its VIPs to these interfaces.
 */

export interface ObservedLink {
  readonly name: string;
  /** `veth`, `bridge`, ... (undefined for loopback). */
  readonly kind: string | undefined;
  /** Administratively up (the UP flag). */
  readonly adminUp: boolean;
  /** Carrier: operstate UP (or UNKNOWN for loopback). */
  readonly operUp: boolean;
  readonly master: string | undefined;
  /** IPv4 addresses with prefix length. */
  readonly addresses: readonly string[];
}

export interface ObservedRoute {
  readonly dst: string;
  readonly gateway: string | undefined;
  readonly dev: string | undefined;
}

export interface ObservedNamespace {
  readonly links: readonly ObservedLink[];
  readonly routes: readonly ObservedRoute[];
  /** net.ipv4.ip_forward, when it was read. */
  readonly forwarding: boolean | undefined;
}

/** What exists: namespaces by name (only those present). */
export type Observed = ReadonlyMap<string, ObservedNamespace>;

export interface Step {
  /** For people: what the step makes right. */
  readonly what: string;
  readonly argv: readonly string[];
}

const EMPTY: ObservedNamespace = { links: [], routes: [], forwarding: undefined };

export function findLink(observed: Observed, ns: string, name: string): ObservedLink | undefined {
  return observed.get(ns)?.links.find((l) => l.name === name);
}

export function hasRoute(observed: Observed, route: Route): boolean {
  return (observed.get(route.ns)?.routes ?? []).some(
    (r) => r.dst === route.dst && r.gateway === route.via && r.dev === route.dev,
  );
}

/** Namespaces of this prefix's testbed that the topology does not have (a larger real server count). */
export function strayNamespaces(topology: Topology, existing: readonly string[]): string[] {
  const wanted = new Set(topology.nodes.map((n) => n.ns));
  return existing.filter((ns) => isTestbedNamespace(topology.prefix, ns) && !wanted.has(ns));
}

const BRIDGE_NETFILTER_OFF = ['iptables', 'ip6tables', 'arptables'].map(
  (t) => `net.bridge.bridge-nf-call-${t}=0`,
);

export function planNetwork(topology: Topology, observed: Observed): Step[] {
  const steps: Step[] = [];
  const ip = (ns: string, ...args: string[]): string[] => ['ip', '-n', ns, ...args];
  const seen = (ns: string): ObservedNamespace => observed.get(ns) ?? EMPTY;
  const link = (ns: string, name: string) => seen(ns).links.find((l) => l.name === name);
  // Links this plan (re)creates start down, unbridged and bare, whatever was observed under their name.
  const made = new Set<string>();
  const key = (ns: string, name: string): string => `${ns}/${name}`;
  const current = (ns: string, name: string): ObservedLink | undefined =>
    made.has(key(ns, name)) ? undefined : link(ns, name);

  for (const { ns } of topology.nodes) {
    if (!observed.has(ns)) {
      steps.push({ what: `namespace ${ns}`, argv: ['ip', 'netns', 'add', ns] });
      // A switch forwards frames without filtering them; br_netfilter would run every bridged frame
      // through this namespace's IP hooks, a cost on the shared CPUs no real switch adds.
      if (topology.bridges.some((br) => br.ns === ns))
        steps.push({
          what: `${ns}: bridged frames skip netfilter`,
          argv: ['ip', 'netns', 'exec', ns, 'sysctl', '-qw', ...BRIDGE_NETFILTER_OFF],
        });
    }
    if (!link(ns, 'lo')?.adminUp)
      steps.push({ what: `${ns}: lo up`, argv: ip(ns, 'link', 'set', 'lo', 'up') });
  }

  for (const br of topology.bridges) {
    const have = link(br.ns, br.name);
    if (have?.kind === 'bridge') continue;
    if (have)
      steps.push({
        what: `${br.ns}: remove ${br.name} (not a bridge)`,
        argv: ip(br.ns, 'link', 'del', br.name),
      });
    steps.push({
      what: `bridge ${br.ns}:${br.name}`,
      argv: ip(br.ns, 'link', 'add', br.name, 'type', 'bridge'),
    });
    made.add(key(br.ns, br.name));
  }

  for (const { a, b } of topology.veths) {
    const haveA = link(a.ns, a.name);
    const haveB = link(b.ns, b.name);
    if (haveA?.kind === 'veth' && haveB?.kind === 'veth') continue;
    // A lone end, or a wrong kind of link under our name: replace it with a fresh pair.
    for (const [end, have] of [
      [a, haveA],
      [b, haveB],
    ] as const) {
      if (have)
        steps.push({ what: `${end.ns}: remove ${end.name}`, argv: ip(end.ns, 'link', 'del', end.name) });
    }
    steps.push({
      what: `veth ${a.ns}:${a.name} <-> ${b.ns}:${b.name}`,
      argv: ip(a.ns, 'link', 'add', a.name, 'type', 'veth', 'peer', 'name', b.name, 'netns', b.ns),
    });
    made.add(key(a.ns, a.name)).add(key(b.ns, b.name));
  }

  const ifaces = allIfaces(topology);
  for (const iface of ifaces) {
    if (iface.master === undefined) continue;
    const bridgeKept = !made.has(key(iface.ns, iface.master));
    if (bridgeKept && current(iface.ns, iface.name)?.master === iface.master) continue;
    steps.push({
      what: `${iface.ns}: ${iface.name} into ${iface.master}`,
      argv: ip(iface.ns, 'link', 'set', iface.name, 'master', iface.master),
    });
  }

  for (const iface of ifaces) {
    for (const address of iface.addresses) {
      if (current(iface.ns, iface.name)?.addresses.includes(address)) continue;
      steps.push({
        what: `${iface.ns}: ${address} on ${iface.name}`,
        argv: ip(iface.ns, 'addr', 'replace', address, 'dev', iface.name),
      });
    }
  }

  for (const br of topology.bridges) {
    if (current(br.ns, br.name)?.adminUp) continue;
    steps.push({ what: `${br.ns}: ${br.name} up`, argv: ip(br.ns, 'link', 'set', br.name, 'up') });
  }
  for (const iface of ifaces) {
    if (current(iface.ns, iface.name)?.adminUp) continue;
    steps.push({
      what: `${iface.ns}: ${iface.name} up`,
      argv: ip(iface.ns, 'link', 'set', iface.name, 'up'),
    });
  }

  for (const route of topology.routes) {
    if (!made.has(key(route.ns, route.dev)) && hasRoute(observed, route)) continue;
    steps.push({
      what: `${route.ns}: route ${route.dst} via ${route.via}`,
      argv: ip(route.ns, 'route', 'replace', route.dst, 'via', route.via, 'dev', route.dev),
    });
  }

  for (const ns of topology.forwarding) {
    if (seen(ns).forwarding === true) continue;
    steps.push({
      what: `${ns}: IPv4 forwarding on`,
      argv: ['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'],
    });
  }
  return steps;
}
