/**
 * A simulated L2 world for the net HAL: hosts (SimNetNode, each its own NetDriver) whose links join
 * segments. A 'bridge' segment is a switch: a port has carrier while its link is up and its cable is not
 * cut. A 'cable' joins exactly two links back to back, like a veth pair or a crossover cable: each end has
 * carrier only while both ends are up and the cable is whole. ARP frames cross segments at once (no
 * delay), may be lost with probability `arpLoss` (drawn from the world's Rng) and are recorded per
 * segment for tests. Everything is owned by one SimNetwork instance; nothing reads the host.
 */
import type { Clock } from '../clock/types.ts';
import { HalError } from '../errors.ts';
import type { Rng } from '../sim/rng.ts';
import { type ArpFrame, BROADCAST_MAC, type SimFabric, type SimLink, SimNetNode } from './sim-node.ts';
import type { LinkInfo } from './types.ts';

export type { ArpFrame } from './sim-node.ts';
export { SimNetNode } from './sim-node.ts';

export type SegmentKind = 'bridge' | 'cable';

export interface SimNetworkOptions {
  /** The world's clock: announcements time their frames on it (a node may be given its own). */
  clock: Clock;
  /** Draws frame loss. Required when `arpLoss` > 0. */
  rng?: Rng;
  /** Probability in [0, 1] that a frame is lost on the wire (it still counts as sent). Default 0. */
  arpLoss?: number;
  /**
   * net.ipv4.conf.*.arp_accept: a gratuitous ARP creates a cache entry where none exists. Default false,
   * the kernel's default: only hosts that already have an entry for the address take the new MAC.
   */
  arpAccept?: boolean;
}

/** A frame as a segment saw it. */
export interface SimFrame extends ArpFrame {
  /** The world clock's now() when the frame crossed. */
  readonly at: number;
  /** `node/link` that sent it. */
  readonly from: string;
  readonly lost: boolean;
}

/** Frames a segment remembers (the oldest go first). */
export const FRAME_HISTORY = 1000;

interface Port {
  node: SimNetNode;
  link: SimLink;
  cut: boolean;
}

interface Segment {
  name: string;
  kind: SegmentKind;
  ports: Port[];
  frames: SimFrame[];
}

export class SimNetwork {
  private readonly nodes = new Map<string, SimNetNode>();
  private readonly segments = new Map<string, Segment>();
  private readonly clock: Clock;
  private readonly rng: Rng | undefined;
  private readonly arpLoss: number;
  private readonly fabric: SimFabric;

  constructor(options: SimNetworkOptions) {
    this.clock = options.clock;
    this.rng = options.rng;
    this.arpLoss = options.arpLoss ?? 0;
    if (!(this.arpLoss >= 0 && this.arpLoss <= 1)) {
      throw new HalError('HAL_INVALID_ARGUMENT', `arpLoss ${options.arpLoss} must be in [0, 1]`, {
        device: 'sim-net',
      });
    }
    if (this.arpLoss > 0 && this.rng === undefined) {
      throw new HalError('HAL_INVALID_ARGUMENT', 'arpLoss needs an rng to draw from', { device: 'sim-net' });
    }
    this.fabric = {
      carrier: (link) => this.carrier(link),
      transmit: (from, link, frame) => this.transmit(from, link, frame),
      changed: () => this.changed(),
      arpAccept: options.arpAccept ?? false,
    };
  }

  /** A new host with only `lo` (127.0.0.1/8, ::1/128). Its driver runs on `clock` (default: the world's). */
  addNode(name: string, options: { clock?: Clock } = {}): SimNetNode {
    if (this.nodes.has(name)) {
      throw new HalError('HAL_INVALID_ARGUMENT', `sim-net already has a node ${name}`, { device: name });
    }
    const node = new SimNetNode(name, this.nodes.size + 1, options.clock ?? this.clock, this.fabric);
    this.nodes.set(name, node);
    return node;
  }

  node(name: string): SimNetNode {
    const node = this.nodes.get(name);
    if (node === undefined)
      throw new HalError('HAL_NOT_FOUND', `sim-net has no node ${name}`, { device: name });
    return node;
  }

  addSegment(name: string, kind: SegmentKind = 'bridge'): void {
    if (this.segments.has(name)) {
      throw new HalError('HAL_INVALID_ARGUMENT', `sim-net already has a segment ${name}`, { device: name });
    }
    this.segments.set(name, { name, kind, ports: [], frames: [] });
  }

  /**
   * Gives `node` a new link `link` joined to `segment` (admin up unless `up: false`; MAC and index from
   * the node's counters unless given). Watches of the node see it 'added'.
   */
  connect(
    node: string,
    segment: string,
    link: string,
    options: { mac?: string; mtu?: number; up?: boolean } = {},
  ): LinkInfo {
    const n = this.node(node);
    const seg = this.segment(segment);
    if (seg.kind === 'cable' && seg.ports.length >= 2) {
      throw new HalError('HAL_INVALID_ARGUMENT', `cable ${segment} already joins two links`, {
        device: segment,
      });
    }
    const l = n.addLink(link, options);
    l.attached = true;
    seg.ports.push({ node: n, link: l, cut: false });
    this.changed();
    return n.linkInfo(l);
  }

  /** Deletes the link from its node (watches see it 'removed'), as unplugging a USB NIC would. */
  disconnect(node: string, link: string): void {
    const n = this.node(node);
    const l = n.link(link);
    for (const seg of this.segments.values()) seg.ports = seg.ports.filter((p) => p.link !== l);
    l.attached = false;
    n.removeLink(l);
    this.changed();
  }

  /** Cuts the cable of `node`'s `link`: its carrier goes (on a cable segment, both ends' carrier). */
  cut(node: string, link: string): void {
    this.port(node, link).cut = true;
    this.changed();
  }

  restore(node: string, link: string): void {
    this.port(node, link).cut = false;
    this.changed();
  }

  /**
   * Test hook: `node` resolves `ip` on `link` as a first packet would (ARP request, answers from whoever
   * holds the address; the first answer wins). Returns the MAC it learned, or undefined (entry 'failed').
   */
  resolve(node: string, link: string, ip: string): string | undefined {
    const n = this.node(node);
    return n.resolve(n.link(link), ip);
  }

  /** The frames `segment` has carried, oldest first (at most FRAME_HISTORY). */
  frames(segment: string): readonly SimFrame[] {
    return [...this.segment(segment).frames];
  }

  // --- the fabric nodes see

  private carrier(link: SimLink): boolean {
    if (link.kind === 'loopback') return link.adminUp;
    if (!link.adminUp || !link.attached) return false;
    const seg = this.segmentOf(link);
    if (seg === undefined) return false;
    const mine = seg.ports.find((p) => p.link === link);
    if (mine === undefined || mine.cut) return false;
    if (seg.kind === 'bridge') return true;
    const other = seg.ports.find((p) => p.link !== link);
    return other !== undefined && !other.cut && other.link.adminUp;
  }

  private transmit(from: SimNetNode, link: SimLink, frame: ArpFrame): boolean {
    if (!this.carrier(link)) return false;
    const seg = this.segmentOf(link);
    if (seg === undefined) return false;
    const lost = this.rng !== undefined && this.arpLoss > 0 && this.rng.chance(this.arpLoss);
    seg.frames.push({ ...frame, at: this.clock.now(), from: `${from.name}/${link.name}`, lost });
    if (seg.frames.length > FRAME_HISTORY) seg.frames.shift();
    if (lost) return true;
    for (const p of [...seg.ports]) {
      if (p.link === link || !this.carrier(p.link)) continue;
      if (frame.ethDst !== BROADCAST_MAC && frame.ethDst !== p.link.mac) continue;
      p.node.receive(p.link, frame);
    }
    return true;
  }

  private changed(): void {
    for (const node of this.nodes.values()) node.publish();
  }

  // --- lookups

  private segment(name: string): Segment {
    const seg = this.segments.get(name);
    if (seg === undefined)
      throw new HalError('HAL_NOT_FOUND', `sim-net has no segment ${name}`, { device: name });
    return seg;
  }

  private segmentOf(link: SimLink): Segment | undefined {
    for (const seg of this.segments.values()) if (seg.ports.some((p) => p.link === link)) return seg;
    return undefined;
  }

  private port(node: string, link: string): Port {
    const l = this.node(node).link(link);
    for (const seg of this.segments.values()) {
      const p = seg.ports.find((x) => x.link === l);
      if (p !== undefined) return p;
    }
    throw new HalError('HAL_NOT_FOUND', `${node}/${link} is not joined to a segment`, { device: link });
  }
}
