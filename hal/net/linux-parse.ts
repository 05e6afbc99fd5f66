/**
 * Reading iproute2 6.1: `ip -j` JSON for links, addresses, neighbours and routes, and the one-line text
 * of `ip -o monitor link` (its -j flag is ignored by `monitor` in 6.1). Pure functions; anything that does
 * not look as expected is skipped rather than guessed at.
 */
import { parseIp } from './ip.ts';
import type {
  AddressInfo,
  AddressScope,
  Family,
  LinkInfo,
  NeighbourInfo,
  NeighbourState,
  OperState,
  RouteInfo,
} from './types.ts';

type Json = Record<string, unknown>;

const OPER_STATES: readonly OperState[] = [
  'up',
  'down',
  'lowerlayerdown',
  'dormant',
  'testing',
  'notpresent',
  'unknown',
];
const NEIGHBOUR_STATES: readonly NeighbourState[] = [
  'reachable',
  'stale',
  'delay',
  'probe',
  'failed',
  'incomplete',
  'noarp',
  'permanent',
  'none',
];
const SCOPES: readonly AddressScope[] = ['global', 'site', 'link', 'host', 'nowhere'];

function entries(json: string): Json[] {
  if (json.trim() === '') return [];
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((e): e is Json => typeof e === 'object' && e !== null) : [];
}

const str = (o: Json, key: string): string | undefined => (typeof o[key] === 'string' ? o[key] : undefined);
const num = (o: Json, key: string): number | undefined => (typeof o[key] === 'number' ? o[key] : undefined);
const strings = (o: Json, key: string): string[] => {
  const v = o[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
};

export function operState(text: string | undefined): OperState {
  const lower = (text ?? '').toLowerCase();
  return OPER_STATES.find((s) => s === lower) ?? 'unknown';
}

function linkFrom(o: Json): LinkInfo | undefined {
  const name = str(o, 'ifname');
  const index = num(o, 'ifindex');
  if (name === undefined || index === undefined) return undefined;
  const flags = strings(o, 'flags');
  return {
    name,
    index,
    adminUp: flags.includes('UP'),
    carrier: flags.includes('LOWER_UP'),
    operState: operState(str(o, 'operstate')),
    mtu: num(o, 'mtu') ?? 0,
    mac: (str(o, 'address') ?? '').toLowerCase(),
  };
}

/** `ip -j link show` (or `ip -j addr show`, whose entries carry the same link fields). */
export function parseLinks(json: string): LinkInfo[] {
  return entries(json).flatMap((o) => linkFrom(o) ?? []);
}

/** True when `ip -j link/addr show` marks the link as one that does not do ARP (loopback, NOARP). */
export function linkDoesArp(json: string, link: string): boolean {
  const o = entries(json).find((e) => str(e, 'ifname') === link);
  if (o === undefined) return false;
  const flags = strings(o, 'flags');
  return !flags.includes('LOOPBACK') && !flags.includes('NOARP');
}

/** `ip -j addr show`: IPv4 and IPv6 addresses, in the kernel's order. */
export function parseAddresses(json: string): AddressInfo[] {
  const out: AddressInfo[] = [];
  for (const o of entries(json)) {
    const link = str(o, 'ifname');
    const list = o.addr_info;
    if (link === undefined || !Array.isArray(list)) continue;
    for (const a of list) {
      if (typeof a !== 'object' || a === null) continue;
      const info = a as Json;
      const family = str(info, 'family');
      const ip = parseIp(str(info, 'local') ?? '');
      const prefixLength = num(info, 'prefixlen');
      if ((family !== 'inet' && family !== 'inet6') || ip === undefined || prefixLength === undefined)
        continue;
      const scopeText = str(info, 'scope');
      out.push({
        link,
        family,
        address: ip.address,
        prefixLength,
        cidr: `${ip.address}/${prefixLength}`,
        label: family === 'inet' ? (str(info, 'label') ?? link) : undefined,
        scope: SCOPES.find((s) => s === scopeText) ?? 'global',
        secondary: info.secondary === true,
      });
    }
  }
  return out;
}

/** `ip -j neigh show [dev L]`: without `dev` in the entries when filtered by link, so `link` fills it. */
export function parseNeighbours(json: string, link?: string): NeighbourInfo[] {
  return entries(json).flatMap((o) => {
    const ip = parseIp(str(o, 'dst') ?? '');
    const dev = str(o, 'dev') ?? link;
    if (ip === undefined || dev === undefined) return [];
    const first = (strings(o, 'state')[0] ?? 'none').toLowerCase();
    const mac = str(o, 'lladdr')?.toLowerCase();
    return [{ link: dev, ip: ip.address, mac, state: NEIGHBOUR_STATES.find((s) => s === first) ?? 'none' }];
  });
}

/** `ip -j -4|-6 route show table main`: unicast routes of `family`. */
export function parseRoutes(json: string, family: Family): RouteInfo[] {
  return entries(json).flatMap((o) => {
    const type = str(o, 'type');
    if (type !== undefined && type !== 'unicast') return [];
    const dst = str(o, 'dst');
    if (dst === undefined) return [];
    let destination = dst;
    if (dst !== 'default') {
      const [addr = '', len] = dst.split('/');
      const ip = parseIp(addr);
      if (ip === undefined) return [];
      destination = `${ip.address}/${len ?? (family === 'inet' ? 32 : 128)}`;
      if (destination === '0.0.0.0/0' || destination === '::/0') destination = 'default';
    }
    const gateway = str(o, 'gateway');
    return [
      {
        family,
        destination,
        gateway: gateway === undefined ? undefined : (parseIp(gateway)?.address ?? gateway),
        link: str(o, 'dev'),
        metric: num(o, 'metric') ?? 0,
        protocol: str(o, 'protocol') ?? 'boot',
        scope: str(o, 'scope') ?? 'global',
        source: str(o, 'prefsrc'),
        linkDown: strings(o, 'flags').includes('linkdown'),
      },
    ];
  });
}

export interface MonitorRecord {
  deleted: boolean;
  link: LinkInfo;
}

/**
 * One line of `ip -o monitor link`, e.g.
 * `2: eth0@if5: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN group default \    link/ether 6e:95:00:b2:be:b4 brd ff:ff:ff:ff:ff:ff link-netns b`
 * with an optional `Deleted ` and `[LINK]`/timestamp prefixes. Undefined for anything else.
 */
export function parseMonitorLine(line: string): MonitorRecord | undefined {
  const m = /^(?:\[[^\]]*\]\s*)*(Deleted\s+)?(\d+):\s+(\S+?):\s+<([^>]*)>(.*)$/.exec(line.trim());
  if (m === null) return undefined;
  const [, deleted, index = '', token = '', flagText = '', rest = ''] = m;
  // `name@peer` for veth/vlan links; kernel names may not contain ':' but may contain '@', so cut the last.
  const at = token.lastIndexOf('@');
  const name = at > 0 ? token.slice(0, at) : token;
  const flags = flagText.split(',');
  const mac = /\blink\/\S+\s+([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2})+)/.exec(rest)?.[1] ?? '';
  return {
    deleted: deleted !== undefined,
    link: {
      name,
      index: Number(index),
      adminUp: flags.includes('UP'),
      carrier: flags.includes('LOWER_UP'),
      operState: operState(/\bstate\s+(\S+)/.exec(rest)?.[1]),
      mtu: Number(/\bmtu\s+(\d+)/.exec(rest)?.[1] ?? 0),
      mac: mac.toLowerCase(),
    },
  };
}
