import { run } from './exec.ts';
import { listNetns } from './netns.ts';
import type { Observed, ObservedLink, ObservedNamespace, ObservedRoute } from './plan.ts';
import type { Topology } from './topology.ts';

interface IpAddrJson {
  ifname?: string;
  flags?: string[];
  operstate?: string;
  master?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

interface IpRouteJson {
  dst?: string;
  gateway?: string;
  dev?: string;
}

function parseJson<T>(text: string): T[] {
  return text.trim() === '' ? [] : (JSON.parse(text) as T[]);
}

export function parseLinks(json: string): ObservedLink[] {
  return parseJson<IpAddrJson>(json).map((l) => ({
    name: l.ifname ?? '',
    kind: l.linkinfo?.info_kind,
    adminUp: (l.flags ?? []).includes('UP'),
    operUp: l.operstate === 'UP' || (l.operstate === 'UNKNOWN' && (l.flags ?? []).includes('LOWER_UP')),
    master: l.master,
    addresses: (l.addr_info ?? [])
      .filter((a) => a.family === 'inet' && a.local !== undefined)
      .map((a) => `${a.local}/${a.prefixlen}`),
  }));
}

export function parseRoutes(json: string): ObservedRoute[] {
  return parseJson<IpRouteJson>(json).map((r) => ({ dst: r.dst ?? '', gateway: r.gateway, dev: r.dev }));
}

async function observeNamespace(ns: string, readForwarding: boolean): Promise<ObservedNamespace> {
  const [links, routes, forwarding] = await Promise.all([
    run(['ip', '-n', ns, '-j', '-d', 'addr', 'show']),
    run(['ip', '-n', ns, '-j', '-4', 'route', 'show']),
    readForwarding
      ? run(['ip', 'netns', 'exec', ns, 'cat', '/proc/sys/net/ipv4/ip_forward'], { allowFail: true })
      : undefined,
  ]);
  return {
    links: parseLinks(links.stdout),
    routes: parseRoutes(routes.stdout),
    forwarding: forwarding === undefined ? undefined : forwarding.stdout.trim() === '1',
  };
}

/** Reads the kernel's view of every namespace of `topology` that exists. */
export async function observe(topology: Topology): Promise<{ observed: Observed; namespaces: string[] }> {
  const namespaces = await listNetns();
  const present = topology.nodes.filter((n) => namespaces.includes(n.ns));
  const entries = await Promise.all(
    present.map(
      async (n) => [n.ns, await observeNamespace(n.ns, topology.forwarding.includes(n.ns))] as const,
    ),
  );
  return { observed: new Map(entries), namespaces };
}
