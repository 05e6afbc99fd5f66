/**
 * One simulated host's network stack and its NetDriver face: links, addresses, routes and ARP cache,
 * following the kernel's rules that services can observe (secondary addresses, routes flushed on admin
 * down, gratuitous ARP updating only existing cache entries). The wire is the SimFabric its SimNetwork
 * (sim.ts) gives it; methods marked "world" are for that SimNetwork, not for services.
 */
import type { Clock } from '../clock/types.ts';
import { abortError, HalError } from '../errors.ts';
import { checkAnnounce, checkAnnounceLink } from './announce-check.ts';
import { runBurst } from './burst.ts';
import { formatIp, inSubnet, networkOf, type ParsedIp, parseIp } from './ip.ts';
import { NetLifecycle } from './lifecycle.ts';
import { diffLink } from './link-diff.ts';
import { SimArpCache } from './sim-arp-cache.ts';
import type {
  AddAddressOptions,
  AddressInfo,
  AddressScope,
  AnnounceOptions,
  AnnounceResult,
  Family,
  LinkInfo,
  LinkWatch,
  NeighbourInfo,
  NetDriver,
  OperState,
  RouteInfo,
  RouteSpec,
  SignalOptions,
} from './types.ts';
import { checkIp, checkLabel, checkLinkName, checkRoute, parseCidr } from './validate.ts';
import { LinkEventQueue } from './watch-queue.ts';

/** An ARP frame as it crosses a simulated segment. */
export interface ArpFrame {
  readonly ethSrc: string;
  readonly ethDst: string;
  readonly op: 'request' | 'reply';
  readonly senderMac: string;
  readonly senderIp: string;
  readonly targetMac: string;
  readonly targetIp: string;
}

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

/** A link of a simulated host. `attached` is set by the world while the link is joined to a segment. */
export interface SimLink {
  readonly index: number;
  readonly name: string;
  readonly kind: 'loopback' | 'ether';
  adminUp: boolean;
  mtu: number;
  mac: string;
  attached: boolean;
}

/** What a node needs from its world. */
export interface SimFabric {
  carrier(link: SimLink): boolean;
  /** Puts a frame on the link's segment; false when the link has no carrier and the frame is dropped. */
  transmit(from: SimNetNode, link: SimLink, frame: ArpFrame): boolean;
  /** Something changed that may move carriers: every node re-reads its links. */
  changed(): void;
  readonly arpAccept: boolean;
}

interface SimAddress extends ParsedIp {
  link: SimLink;
  prefixLength: number;
  label: string | undefined;
}

interface SimRoute {
  family: Family;
  destination: string;
  gateway: string | undefined;
  link: SimLink;
  metric: number;
}

function scopeOf(ip: ParsedIp): AddressScope {
  if (ip.family === 'inet') return ip.value >> 24n === 127n ? 'host' : 'global';
  if (ip.value === 1n) return 'host';
  return ip.value >> 118n === 0x3fan ? 'link' : 'global';
}

export class SimNetNode implements NetDriver {
  private readonly linkList: SimLink[] = [];
  private readonly addrs: SimAddress[] = [];
  private readonly staticRoutes: SimRoute[] = [];
  private readonly arp = new SimArpCache();
  private readonly seen = new Map<number, LinkInfo>();
  private nextIndex = 1;
  private readonly life: NetLifecycle;

  /** world: made by SimNetwork.addNode(). `number` seeds this node's MACs. */
  constructor(
    readonly name: string,
    private readonly number: number,
    private readonly clock: Clock,
    private readonly fabric: SimFabric,
  ) {
    this.life = new NetLifecycle(name);
    const lo = this.addLink('lo', { kind: 'loopback', mac: '00:00:00:00:00:00', mtu: 65536, up: true });
    this.addrs.push({ ...(parseIp('127.0.0.1') as ParsedIp), link: lo, prefixLength: 8, label: 'lo' });
    this.addrs.push({ ...(parseIp('::1') as ParsedIp), link: lo, prefixLength: 128, label: undefined });
    this.publish();
  }

  // --- the NetDriver face

  async links(): Promise<LinkInfo[]> {
    this.life.checkOpen();
    return this.linkList.map((l) => this.linkInfo(l));
  }

  async watchLinks(options: SignalOptions = {}): Promise<LinkWatch> {
    this.life.checkOpen();
    const { signal } = options;
    if (signal?.aborted) throw abortError(signal, this.name);
    const watch: LinkEventQueue = new LinkEventQueue(this.name, signal, async () => {
      this.life.watches.delete(watch);
    });
    this.life.watches.add(watch);
    return watch;
  }

  async setLinkUp(link: string, up: boolean): Promise<void> {
    this.life.checkOpen();
    const l = this.link(checkLinkName(link));
    if (l.adminUp === up) return;
    l.adminUp = up;
    if (!up) {
      this.removeWhere(this.staticRoutes, (r) => r.link === l);
      this.arp.flush(l);
    }
    this.fabric.changed();
  }

  async addresses(link?: string): Promise<AddressInfo[]> {
    this.life.checkOpen();
    const only = link === undefined ? undefined : this.link(checkLinkName(link));
    const out: AddressInfo[] = [];
    for (const l of this.linkList) {
      if (only !== undefined && l !== only) continue;
      const mine = this.addrs.filter((a) => a.link === l);
      const v4 = mine.filter((a) => a.family === 'inet');
      const primaries = v4.filter((a) => !this.isSecondary(a));
      const secondaries = v4.filter((a) => this.isSecondary(a));
      const v6 = mine.filter((a) => a.family === 'inet6').reverse();
      for (const a of [...primaries, ...secondaries, ...v6]) out.push(this.addressInfo(a));
    }
    return out;
  }

  async addAddress(link: string, cidr: string, options: AddAddressOptions = {}): Promise<void> {
    this.life.checkOpen();
    checkLinkName(link);
    const parsed = parseCidr(cidr);
    const label = checkLabel(link, parsed.family, options.label);
    const l = this.link(link);
    if (this.findAddress(l, parsed) !== undefined) return;
    this.addrs.push({
      family: parsed.family,
      address: parsed.address,
      value: parsed.value,
      prefixLength: parsed.prefixLength,
      link: l,
      label: parsed.family === 'inet' ? (label ?? l.name) : undefined,
    });
  }

  async removeAddress(link: string, cidr: string): Promise<void> {
    this.life.checkOpen();
    checkLinkName(link);
    const parsed = parseCidr(cidr);
    const l = this.link(link);
    const found = this.findAddress(l, parsed);
    if (found === undefined) return;
    const goes = new Set<SimAddress>([found]);
    // Without promote_secondaries the kernel deletes a primary's secondaries with it.
    if (found.family === 'inet' && !this.isSecondary(found)) {
      for (const a of this.addrs) if (this.secondaryOf(a) === found) goes.add(a);
    }
    this.removeWhere(this.addrs, (a) => goes.has(a));
  }

  async announce(link: string, ip: string, options: AnnounceOptions = {}): Promise<AnnounceResult> {
    this.life.checkOpen();
    const { vip, plan } = checkAnnounce(link, ip, options);
    const l = this.link(link);
    checkAnnounceLink(link, vip, {
      doesArp: l.kind !== 'loopback',
      adminUp: l.adminUp,
      hasAddress: this.addrs.some((a) => a.link === l && a.address === vip.address),
    });
    const signal = this.life.signalWith(options.signal);
    const sent = await runBurst(
      this.clock,
      { count: plan.count, intervalMs: plan.intervalMs, signal, device: link },
      async () =>
        this.fabric.transmit(this, l, {
          ethSrc: l.mac,
          ethDst: BROADCAST_MAC,
          op: plan.form,
          senderMac: l.mac,
          senderIp: vip.address,
          targetMac: plan.form === 'reply' ? l.mac : BROADCAST_MAC,
          targetIp: vip.address,
        }),
    );
    return { sent };
  }

  async neighbours(link?: string): Promise<NeighbourInfo[]> {
    this.life.checkOpen();
    return this.arp.list(link === undefined ? undefined : this.link(checkLinkName(link)));
  }

  async flushNeighbours(link: string, ip?: string): Promise<void> {
    this.life.checkOpen();
    checkLinkName(link);
    const target = ip === undefined ? undefined : checkIp(ip).address;
    this.arp.flush(this.link(link), target);
  }

  async routes(): Promise<RouteInfo[]> {
    this.life.checkOpen();
    const all = [...this.connectedRoutes(), ...this.staticRoutes.map((r) => this.routeInfo(r))];
    const key = (r: RouteInfo): [number, bigint, number] => {
      const [net = '', len = '0'] = r.destination === 'default' ? ['', '0'] : r.destination.split('/');
      return [r.family === 'inet' ? 0 : 1, parseIp(net)?.value ?? 0n, Number(len)];
    };
    return all.sort((a, b) => {
      const [fa, na, la] = key(a);
      const [fb, nb, lb] = key(b);
      return fa - fb || (na < nb ? -1 : na > nb ? 1 : 0) || la - lb || a.metric - b.metric;
    });
  }

  async addRoute(route: RouteSpec): Promise<void> {
    this.life.checkOpen();
    const r = checkRoute(route, true);
    const given = r.link === undefined ? undefined : this.link(r.link);
    if (given !== undefined && !given.adminUp) {
      throw new HalError('HAL_IO', `route ${r.destination}: link ${given.name} is down`, {
        device: given.name,
      });
    }
    let via = given;
    if (r.gateway !== undefined) {
      const gw = r.gateway;
      const onLink = this.connectedSubnets().find(
        (s) => (given === undefined || s.link === given) && inSubnet(gw, s, s.prefixLength),
      );
      const linkLocal = gw.family === 'inet6' && given !== undefined && scopeOf(gw) === 'link';
      if (onLink === undefined && !linkLocal) {
        throw new HalError(
          'HAL_INVALID_ARGUMENT',
          `route ${r.destination}: gateway ${gw.address} is not on a connected subnet${given ? ` of ${given.name}` : ''}`,
          { device: gw.address },
        );
      }
      via = given ?? onLink?.link;
    }
    if (via === undefined) return;
    this.removeWhere(
      this.staticRoutes,
      (s) => s.family === r.family && s.destination === r.destination && s.metric === r.metric,
    );
    this.staticRoutes.push({
      family: r.family,
      destination: r.destination,
      gateway: r.gateway?.address,
      link: via,
      metric: r.metric,
    });
  }

  async removeRoute(route: RouteSpec): Promise<void> {
    this.life.checkOpen();
    const r = checkRoute(route, false);
    const given = r.link === undefined ? undefined : this.link(r.link);
    this.removeWhere(
      this.staticRoutes,
      (s) =>
        s.family === r.family &&
        s.destination === r.destination &&
        s.metric === r.metric &&
        (r.gateway === undefined || s.gateway === r.gateway.address) &&
        (given === undefined || s.link === given),
    );
  }

  close(): Promise<void> {
    return this.life.close();
  }

  // --- world: the host side the SimNetwork drives

  /** world: adds a link (index and MAC from this node's counters unless given) and returns it. */
  addLink(
    name: string,
    options: { kind?: 'loopback' | 'ether'; mac?: string; mtu?: number; up?: boolean } = {},
  ): SimLink {
    checkLinkName(name);
    if (this.linkList.some((l) => l.name === name)) {
      throw new HalError('HAL_INVALID_ARGUMENT', `${this.name} already has a link ${name}`, { device: name });
    }
    const index = this.nextIndex++;
    const hex = (n: number): string => n.toString(16).padStart(2, '0');
    const link: SimLink = {
      index,
      name,
      kind: options.kind ?? 'ether',
      adminUp: options.up ?? true,
      mtu: options.mtu ?? 1500,
      mac:
        options.mac?.toLowerCase() ??
        ['02', '00', hex(this.number >> 8), hex(this.number & 0xff), hex(index >> 8), hex(index & 0xff)].join(
          ':',
        ),
      attached: false,
    };
    this.linkList.push(link);
    return link;
  }

  /** world: deletes a link with everything on it. */
  removeLink(link: SimLink): void {
    this.removeWhere(this.linkList, (l) => l === link);
    this.removeWhere(this.addrs, (a) => a.link === link);
    this.removeWhere(this.staticRoutes, (r) => r.link === link);
    this.arp.dropLink(link);
  }

  /** world: the link named `name`, or HAL_NOT_FOUND. */
  link(name: string): SimLink {
    const l = this.linkList.find((x) => x.name === name);
    if (l === undefined) {
      throw new HalError('HAL_NOT_FOUND', `${this.name} has no link "${name}"`, { device: name });
    }
    return l;
  }

  /** world: re-reads every link and reports what changed to the watches. */
  publish(): void {
    const now = new Map(this.linkList.map((l) => [l.index, this.linkInfo(l)]));
    const events = [];
    for (const [index, before] of this.seen) events.push(...diffLink(before, now.get(index)));
    for (const [index, after] of now) if (!this.seen.has(index)) events.push(...diffLink(undefined, after));
    this.seen.clear();
    for (const [index, info] of now) this.seen.set(index, info);
    for (const event of events) {
      // The kernel forgets a link's learned neighbours when its carrier goes (neigh_carrier_down).
      const link = this.linkList.find((l) => l.index === event.link.index);
      if (event.kind === 'carrier-down' && link !== undefined) this.arp.flush(link);
      for (const w of this.life.watches) w.push(event);
    }
  }

  /** world: an ARP exchange like the one a first packet to `ip` starts; returns the MAC learned. */
  resolve(link: SimLink, ip: string): string | undefined {
    const target = checkIp(ip);
    const source =
      this.addrs.find((a) => a.link === link && a.family === 'inet' && inSubnet(target, a, a.prefixLength)) ??
      this.addrs.find((a) => a.link === link && a.family === 'inet');
    this.arp.startResolve(link, target.address);
    this.fabric.transmit(this, link, {
      ethSrc: link.mac,
      ethDst: BROADCAST_MAC,
      op: 'request',
      senderMac: link.mac,
      senderIp: source?.address ?? '0.0.0.0',
      targetMac: '00:00:00:00:00:00',
      targetIp: target.address,
    });
    this.arp.endResolve(link, target.address);
    return this.arp.macOf(link, target.address);
  }

  /** world: a frame arrived on `link`. */
  receive(link: SimLink, f: ArpFrame): void {
    const forMe = this.addrs.some((a) => a.link === link && a.family === 'inet' && a.address === f.targetIp);
    const garp = f.senderIp === f.targetIp && (f.op === 'request' || f.targetMac === f.senderMac);
    if (f.op === 'request' && forMe && !garp) {
      if (f.senderIp !== '0.0.0.0') this.arp.learn(link, f.senderIp, f.senderMac, 'stale', true);
      this.fabric.transmit(this, link, {
        ethSrc: link.mac,
        ethDst: f.senderMac,
        op: 'reply',
        senderMac: link.mac,
        senderIp: f.targetIp,
        targetMac: f.senderMac,
        targetIp: f.senderIp,
      });
      return;
    }
    if (!this.arp.has(link, f.senderIp)) {
      if (garp && this.fabric.arpAccept) this.arp.learn(link, f.senderIp, f.senderMac, 'stale', true);
      return;
    }
    // A broadcast or a request does not prove reachability; a reply sent to us does.
    const unicastReply = f.op === 'reply' && f.ethDst === link.mac;
    this.arp.learn(link, f.senderIp, f.senderMac, unicastReply ? 'reachable' : 'stale', garp);
  }

  /** world: how a link looks now. */
  linkInfo(l: SimLink): LinkInfo {
    const carrier = this.fabric.carrier(l);
    const operState: OperState =
      l.kind === 'loopback' ? (l.adminUp ? 'unknown' : 'down') : l.adminUp && carrier ? 'up' : 'down';
    return { name: l.name, index: l.index, adminUp: l.adminUp, carrier, operState, mtu: l.mtu, mac: l.mac };
  }

  // --- internals

  private findAddress(l: SimLink, ip: ParsedIp & { prefixLength: number }): SimAddress | undefined {
    return this.addrs.find((a) => a.link === l && a.value === ip.value && a.prefixLength === ip.prefixLength);
  }

  /** The primary a secondary IPv4 address hangs off, or undefined for a primary (or IPv6). */
  private secondaryOf(a: SimAddress): SimAddress | undefined {
    if (a.family !== 'inet') return undefined;
    for (const b of this.addrs) {
      if (b === a) return undefined;
      if (b.link === a.link && b.family === 'inet' && b.prefixLength === a.prefixLength) {
        if (inSubnet(a, b, a.prefixLength)) return b;
      }
    }
    return undefined;
  }

  private isSecondary(a: SimAddress): boolean {
    return this.secondaryOf(a) !== undefined;
  }

  private addressInfo(a: SimAddress): AddressInfo {
    return {
      link: a.link.name,
      family: a.family,
      address: a.address,
      prefixLength: a.prefixLength,
      cidr: `${a.address}/${a.prefixLength}`,
      label: a.label,
      scope: scopeOf(a),
      secondary: this.isSecondary(a),
    };
  }

  /** Subnets of primary addresses on admin-up, non-loopback links: where connected routes come from. */
  private connectedSubnets(): SimAddress[] {
    const bits = (a: SimAddress): number => (a.family === 'inet' ? 32 : 128);
    return this.addrs.filter(
      (a) =>
        a.link.adminUp &&
        a.link.kind !== 'loopback' &&
        a.prefixLength < bits(a) &&
        !this.isSecondary(a) &&
        scopeOf(a) !== 'link',
    );
  }

  private connectedRoutes(): RouteInfo[] {
    const out: RouteInfo[] = [];
    const seen = new Set<string>();
    for (const a of this.connectedSubnets()) {
      const destination = `${formatIp(a.family, networkOf(a.family, a.value, a.prefixLength))}/${a.prefixLength}`;
      const key = `${a.link.index} ${destination}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({
        family: a.family,
        destination,
        gateway: undefined,
        link: a.link.name,
        metric: a.family === 'inet' ? 0 : 256,
        protocol: 'kernel',
        scope: 'link',
        source: a.family === 'inet' ? a.address : undefined,
        linkDown: !this.fabric.carrier(a.link),
      });
    }
    return out;
  }

  private routeInfo(r: SimRoute): RouteInfo {
    return {
      family: r.family,
      destination: r.destination,
      gateway: r.gateway,
      link: r.link.name,
      metric: r.metric,
      protocol: 'boot',
      scope: r.gateway === undefined ? 'link' : 'global',
      source: undefined,
      linkDown: !this.fabric.carrier(r.link),
    };
  }

  private removeWhere<T>(list: T[], drop: (item: T) => boolean): void {
    const keep = list.filter((item) => !drop(item));
    list.splice(0, list.length, ...keep);
  }
}
