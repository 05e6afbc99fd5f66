/**
 * A discrete-event world of two cluster cores: virtual time, one priority queue of events, simulated
 * links, ping node and fence line, and the nodes' persistent storage (boot counter, epoch). It executes
 * the cores' actions the way a shell would, and reports every step to an observer (the checker).
 */
import { decodeDatagram, encodeHeartbeat, FrameParser } from '../../../firmware/cluster/codec.ts';
import { initialState, nextDeadline, step } from '../../../firmware/cluster/core.ts';
import { ClusterError } from '../../../firmware/cluster/errors.ts';
import type {
  ClusterAction,
  ClusterEvent,
  Command,
  CoreState,
  Heartbeat,
  LinkName,
  StepResult,
} from '../../../firmware/cluster/types.ts';
import { Rng } from '../../../hal/sim/rng.ts';
import { type Direction, SimLink } from './network.ts';
import type { NodeIndex, Range, Settings } from './scenario.ts';

export const NAMES = ['A', 'B'] as const;

export interface FrameMeta {
  sender: NodeIndex;
  /** World time the frame was sent. */
  sentAt: number;
  /** The world's step counter when it was sent (orders events at the same instant). */
  sentStep: number;
}

/** What the world tells its observer (the checker); every hook is optional. */
export interface Observer {
  /** After a core step (a throw from the core never gets here: the world rethrows it). */
  afterStep?(
    world: World,
    node: NodeIndex,
    event: ClusterEvent,
    prev: CoreState,
    result: StepResult,
    meta?: FrameMeta,
  ): void;
  /** Before the world handles the next queued item at `at` (deadline checks). */
  beforeItem?(world: World, at: number): void;
  /** A node went down (crash, fence, or exit after leave), with whether it held the VIPs. */
  onDown?(world: World, node: NodeIndex, why: 'crash' | 'fenced' | 'exit', held: boolean): void;
  onUp?(world: World, node: NodeIndex): void;
  /** Something that changes what a node may decide (health, command, ping, fence line, stall). */
  onDisturb?(world: World, node: NodeIndex, what: string): void;
  /** The codec accepted a frame that was never sent like that. */
  onFalseAccept?(world: World, node: NodeIndex, detail: string): void;
}

export class SimNode {
  readonly index: NodeIndex;
  readonly name: string;
  state: CoreState | undefined;
  up = false;
  boot = 0;
  persistedEpoch = 0;
  lastAcquiredEpoch = 0;
  vip = false;
  health = 100;
  pingReachable = true;
  fenceWorks = true;
  stalledUntil = 0;
  /** Bumped by crash/restart/arming so stale queued items are ignored. */
  gen = 0;
  timerGen = 0;
  armedFor: number | undefined;
  tickDeferred = false;
  deferred: Item[] = [];
  parsers = new Map<LinkName, FrameParser>();
  carrier = new Map<LinkName, boolean>();
  transitions = 0;

  constructor(index: NodeIndex) {
    this.index = index;
    this.name = NAMES[index];
  }
}

type Item =
  | { kind: 'start'; node: NodeIndex }
  | { kind: 'tick'; node: NodeIndex; timerGen: number; deadline: number }
  | {
      kind: 'deliver';
      node: NodeIndex;
      link: LinkName;
      hb: Heartbeat;
      bytes: Buffer | undefined;
      mangled: boolean;
      meta: FrameMeta;
      gen: number;
    }
  | { kind: 'ping-result'; node: NodeIndex; id: number; gen: number }
  | { kind: 'fence-hit'; node: NodeIndex; id: number; gen: number; late: boolean }
  | { kind: 'restart'; node: NodeIndex; gen: number }
  | { kind: 'stall-end'; node: NodeIndex; gen: number }
  | { kind: 'call'; fn: () => void };

interface Queued {
  at: number;
  order: number;
  item: Item;
}

/** A binary min-heap on (at, order): same-time items run in the order they were queued. */
class Queue {
  private readonly heap: Queued[] = [];
  private order = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, item: Item): void {
    const h = this.heap;
    h.push({ at, order: this.order++, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i] as Queued, h[p] as Queued)) break;
      [h[i], h[p]] = [h[p] as Queued, h[i] as Queued];
      i = p;
    }
  }

  peek(): Queued | undefined {
    return this.heap[0];
  }

  pop(): Queued | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l] as Queued, h[m] as Queued)) m = l;
        if (r < h.length && less(h[r] as Queued, h[m] as Queued)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as Queued, h[i] as Queued];
        i = m;
      }
    }
    return top;
  }
}

const less = (a: Queued, b: Queued): boolean => a.at < b.at || (a.at === b.at && a.order < b.order);

export interface WorldStats {
  steps: number;
  sent: number;
  delivered: number;
  decodeErrors: Record<string, number>;
  alarms: Record<string, number>;
  takeovers: Record<string, number>;
  rejectedCommands: number;
  fenced: number;
  /** PEER_DEAD alarms raised while the peer was in fact up (loss or stalls fooled the detector). */
  spuriousDeaths: number;
}

export class World {
  readonly settings: Settings;
  readonly key = Buffer.alloc(32, 0x5a);
  readonly nodes: readonly [SimNode, SimNode] = [new SimNode(0), new SimNode(1)];
  readonly links = new Map<LinkName, SimLink>();
  readonly rng: Rng;
  readonly stats: WorldStats = {
    steps: 0,
    sent: 0,
    delivered: 0,
    decodeErrors: {},
    alarms: {},
    takeovers: {},
    rejectedCommands: 0,
    fenced: 0,
    spuriousDeaths: 0,
  };
  now = 0;
  observer: Observer;
  /** Test hook: a shell that misbehaves. Return false to drop an action instead of carrying it out. */
  tamper: ((node: NodeIndex, action: ClusterAction) => boolean) | undefined;
  private readonly queue = new Queue();
  private readonly traceLines: string[] | undefined;
  private readonly sentFrames = new Map<string, string>();

  constructor(settings: Settings, options: { observer?: Observer; trace?: boolean } = {}) {
    this.settings = settings;
    this.observer = options.observer ?? {};
    this.traceLines = options.trace ? [] : undefined;
    // The world's own draws (network, latencies) come from the seed too, apart from the scenario's.
    this.rng = new Rng((settings.seed ^ 0x9e3779b9) >>> 0);
    for (const [name, opts] of Object.entries(settings.links)) {
      this.links.set(name as LinkName, new SimLink(name as LinkName, { ...opts }));
    }
    for (const n of this.nodes) {
      for (const l of this.links.keys()) n.carrier.set(l, true);
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Time and the queue

  at(time: number, fn: () => void): void {
    this.queue.push(Math.max(time, this.now), { kind: 'call', fn });
  }

  /** Processes every item due at or before `until`, then sets the time to `until`. */
  run(until: number): void {
    for (let q = this.queue.peek(); q !== undefined && q.at <= until; q = this.queue.peek()) {
      this.observer.beforeItem?.(this, q.at);
      this.queue.pop();
      this.now = q.at;
      this.handle(q.item);
    }
    this.observer.beforeItem?.(this, until);
    this.now = Math.max(this.now, until);
  }

  /** Runs until `done()` holds (checked after each item) or `maxMs` passed; returns whether it held. */
  runUntil(done: () => boolean, maxMs: number): boolean {
    const until = this.now + maxMs;
    if (done()) return true;
    for (let q = this.queue.peek(); q !== undefined && q.at <= until; q = this.queue.peek()) {
      this.observer.beforeItem?.(this, q.at);
      this.queue.pop();
      this.now = q.at;
      this.handle(q.item);
      if (done()) return true;
    }
    this.now = Math.max(this.now, until);
    return done();
  }

  private push(at: number, item: Item): void {
    this.queue.push(at, item);
  }

  private draw(r: Range): number {
    return r.min + this.rng.float() * (r.max - r.min);
  }

  nodeNow(n: SimNode): number {
    return this.now + (this.settings.clockOffset[n.index] ?? 0);
  }

  // -------------------------------------------------------------------------------------------------
  // Controls (faults, Pair tests)

  start(i: NodeIndex): void {
    const n = this.nodes[i];
    if (n.up) return;
    n.gen += 1;
    n.boot += 1;
    n.up = true;
    n.vip = false;
    n.stalledUntil = 0;
    n.deferred = [];
    n.tickDeferred = false;
    n.parsers = new Map();
    n.state = initialState(this.settings.configs[i], {
      boot: n.boot,
      now: this.nodeNow(n),
      epoch: n.persistedEpoch,
      health: n.health,
    });
    this.trace(`${n.name} boots (boot ${n.boot}, epoch ${n.persistedEpoch})`);
    this.observer.onUp?.(this, i);
    this.feed(n, { type: 'start' });
  }

  crash(i: NodeIndex, downMs?: number, why: 'crash' | 'fenced' = 'crash'): void {
    const n = this.nodes[i];
    if (!n.up) return;
    this.down(n, why);
    if (downMs !== undefined) this.push(this.now + downMs, { kind: 'restart', node: i, gen: n.gen });
  }

  private down(n: SimNode, why: 'crash' | 'fenced' | 'exit'): void {
    const held = n.vip;
    n.up = false;
    n.vip = false;
    n.state = undefined;
    n.gen += 1;
    n.timerGen += 1;
    n.armedFor = undefined;
    n.deferred = [];
    n.tickDeferred = false;
    n.stalledUntil = 0;
    this.trace(`${n.name} goes down (${why})${held ? ', VIPs gone with it' : ''}`);
    this.observer.onDown?.(this, n.index, why, held);
  }

  stall(i: NodeIndex, ms: number): void {
    const n = this.nodes[i];
    if (!n.up) return;
    const until = this.now + ms;
    if (until <= n.stalledUntil) return;
    n.stalledUntil = until;
    this.observer.onDisturb?.(this, i, 'stall');
    this.trace(`${n.name} stalls for ${ms.toFixed(1)} ms`);
    this.push(until, { kind: 'stall-end', node: i, gen: n.gen });
  }

  /** Ends a stall now (heal). */
  unstall(i: NodeIndex): void {
    const n = this.nodes[i];
    if (n.up && n.stalledUntil > this.now) this.endStall(n);
  }

  setHealth(i: NodeIndex, score: number): void {
    const n = this.nodes[i];
    n.health = score;
    this.observer.onDisturb?.(this, i, 'health');
    if (n.up) this.deliverOrDefer(n, { kind: 'call', fn: () => this.feed(n, { type: 'health', score }) });
  }

  command(i: NodeIndex, command: Command): void {
    const n = this.nodes[i];
    this.observer.onDisturb?.(this, i, 'command');
    if (n.up) this.deliverOrDefer(n, { kind: 'call', fn: () => this.feed(n, { type: 'command', command }) });
  }

  setPing(i: NodeIndex, reachable: boolean): void {
    this.nodes[i].pingReachable = reachable;
    this.observer.onDisturb?.(this, i, 'ping');
  }

  setFence(i: NodeIndex, works: boolean): void {
    this.nodes[i].fenceWorks = works;
    this.observer.onDisturb?.(this, i, 'fence');
  }

  cut(link: LinkName, dir: Direction | 'both', carrier = false): void {
    const l = this.links.get(link);
    if (l === undefined) return;
    l.setCut(dir, true);
    this.trace(`cut ${link} ${dir === 'both' ? 'both ways' : `${NAMES[dir]}→${NAMES[dir === 0 ? 1 : 0]}`}`);
    if (carrier) for (const n of this.nodes) this.setCarrier(n, link, false);
  }

  restore(link: LinkName): void {
    const l = this.links.get(link);
    if (l === undefined) return;
    l.setCut('both', false);
    this.trace(`restore ${link}`);
    for (const n of this.nodes) this.setCarrier(n, link, true);
  }

  private setCarrier(n: SimNode, link: LinkName, up: boolean): void {
    if (n.carrier.get(link) === up) return;
    n.carrier.set(link, up);
    if (n.up) this.deliverOrDefer(n, { kind: 'call', fn: () => this.feed(n, { type: 'carrier', link, up }) });
  }

  /** Feeds any event to a node's core now (tests: replayed frames, results). */
  inject(i: NodeIndex, event: ClusterEvent): void {
    this.feed(this.nodes[i], event);
  }

  // -------------------------------------------------------------------------------------------------
  // Items

  private handle(item: Item): void {
    switch (item.kind) {
      case 'call':
        item.fn();
        return;
      case 'start':
        this.start(item.node);
        return;
      case 'restart': {
        const n = this.nodes[item.node];
        if (n.gen === item.gen && !n.up) this.start(item.node);
        return;
      }
      case 'stall-end': {
        const n = this.nodes[item.node];
        if (n.gen === item.gen && n.up && n.stalledUntil <= this.now && n.stalledUntil > 0) this.endStall(n);
        return;
      }
      case 'tick': {
        const n = this.nodes[item.node];
        if (!n.up || n.timerGen !== item.timerGen) return;
        if (this.now < n.stalledUntil) {
          n.tickDeferred = true;
          return;
        }
        n.armedFor = undefined;
        this.feed(n, { type: 'tick' }, undefined, item.deadline);
        return;
      }
      default: {
        const n = this.nodes[item.node];
        if (!n.up || n.gen !== item.gen) return;
        this.deliverOrDefer(n, item);
      }
    }
  }

  private deliverOrDefer(n: SimNode, item: Item): void {
    if (this.now < n.stalledUntil) {
      n.deferred.push(item);
      return;
    }
    switch (item.kind) {
      case 'call':
        item.fn();
        return;
      case 'deliver':
        this.receive(n, item);
        return;
      case 'ping-result':
        this.feed(n, { type: 'ping-result', id: item.id, reachable: n.pingReachable });
        return;
      case 'fence-hit':
        if (!item.late) this.fenceHit(n, item.id);
        return;
      default:
        return;
    }
  }

  /** A stalled process resumes: expired timers run first (Node's event loop), then the queued I/O. */
  private endStall(n: SimNode): void {
    n.stalledUntil = 0;
    this.trace(`${n.name} resumes`);
    const items = n.deferred;
    n.deferred = [];
    if (n.tickDeferred) {
      n.tickDeferred = false;
      n.armedFor = undefined;
      this.feed(n, { type: 'tick' });
    }
    for (const item of items) {
      if (!n.up) return;
      this.deliverOrDefer(n, item);
    }
  }

  private fenceHit(fencer: SimNode, id: number): void {
    const peer = this.nodes[fencer.index === 0 ? 1 : 0];
    const ok = fencer.fenceWorks;
    if (ok && peer.up) {
      this.stats.fenced += 1;
      this.crash(peer.index, this.draw(this.settings.restartMs), 'fenced');
    }
    this.feed(fencer, { type: 'fence-result', id, ok });
  }

  private receive(n: SimNode, item: Extract<Item, { kind: 'deliver' }>): void {
    if (item.bytes === undefined) {
      this.stats.delivered += 1;
      this.feed(n, { type: 'frame', link: item.link, hb: item.hb }, item.meta);
      return;
    }
    let result: ReturnType<typeof decodeDatagram>;
    if (item.link === 'serial' && this.settings.fullCodec) {
      let parser = n.parsers.get('serial');
      if (parser === undefined) {
        parser = new FrameParser(this.key);
        n.parsers.set('serial', parser);
      }
      // Bytes on a cable arrive in pieces: feed the frame in up to three chunks.
      const cut1 = this.rng.int(0, item.bytes.length);
      const cut2 = this.rng.int(cut1, item.bytes.length);
      const parts = [
        item.bytes.subarray(0, cut1),
        item.bytes.subarray(cut1, cut2),
        item.bytes.subarray(cut2),
      ];
      result = { frames: [], errors: [] };
      for (const part of parts) {
        const r = parser.push(part);
        result.frames.push(...r.frames);
        result.errors.push(...r.errors);
      }
    } else {
      result = decodeDatagram(item.bytes, this.key);
    }
    for (const e of result.errors)
      this.stats.decodeErrors[e.kind] = (this.stats.decodeErrors[e.kind] ?? 0) + 1;
    for (const hb of result.frames) {
      const sent = this.sentFrames.get(`${hb.nodeId}:${hb.boot}:${hb.seq}`);
      if (sent !== JSON.stringify(hb) || (item.mangled && item.link !== 'serial')) {
        this.observer.onFalseAccept?.(this, n.index, `accepted ${JSON.stringify(hb)} from mangled bytes`);
        continue;
      }
      if (!n.up) return;
      this.stats.delivered += 1;
      this.feed(n, { type: 'frame', link: item.link, hb }, item.meta);
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Stepping a core and carrying out its actions

  /** Steps node `n`'s core; command rejections are counted, any other throw propagates. */
  private feed(n: SimNode, event: ClusterEvent, meta?: FrameMeta, deadline?: number): void {
    const prev = n.state;
    if (!n.up || prev === undefined) return;
    const now = Math.max(prev.now, this.nodeNow(n), deadline ?? Number.NEGATIVE_INFINITY);
    let result: StepResult;
    try {
      result = step(prev, event, now);
    } catch (err) {
      if (
        event.type === 'command' &&
        ClusterError.is(err) &&
        (err.code === 'CLUSTER_COMMAND_REJECTED' || err.code === 'CLUSTER_IMPOSSIBLE_EVENT')
      ) {
        this.stats.rejectedCommands += 1;
        this.trace(`${n.name} ${event.command} rejected: ${err.message}`);
        return;
      }
      throw err;
    }
    this.stats.steps += 1;
    n.state = result.state;
    if (this.traceLines !== undefined)
      this.trace(`${n.name} ${describeEvent(event)} → ${describeActions(result)}`);
    this.apply(n, result.actions);
    this.observer.afterStep?.(this, n.index, event, prev, result, meta);
    if (n.up) this.arm(n);
  }

  private arm(n: SimNode): void {
    const d = n.state === undefined ? undefined : nextDeadline(n.state);
    if (d === n.armedFor) return;
    n.timerGen += 1;
    n.armedFor = d;
    if (d === undefined) return;
    const at = Math.max(this.now, d - (this.settings.clockOffset[n.index] ?? 0));
    this.push(at, { kind: 'tick', node: n.index, timerGen: n.timerGen, deadline: d });
  }

  private apply(n: SimNode, actions: readonly ClusterAction[]): void {
    for (const a of actions) {
      if (this.tamper !== undefined && !this.tamper(n.index, a)) continue;
      switch (a.type) {
        case 'send':
          this.send(n, a.links, a.hb);
          break;
        case 'persist-epoch':
          n.persistedEpoch = Math.max(n.persistedEpoch, a.epoch);
          break;
        case 'acquire':
          n.vip = true;
          n.lastAcquiredEpoch = a.epoch;
          break;
        case 'release':
          n.vip = false;
          break;
        case 'ping-check':
          this.push(this.now + this.draw(this.settings.pingLatencyMs), {
            kind: 'ping-result',
            node: n.index,
            id: a.id,
            gen: n.gen,
          });
          break;
        case 'fence-peer': {
          // The shell abandons a fence that would finish after the core's check timeout (see the action).
          const latency = this.draw(this.settings.fenceLatencyMs);
          const late = latency >= (n.state?.config.checkTimeoutMs ?? 0);
          this.push(this.now + latency, { kind: 'fence-hit', node: n.index, id: a.id, gen: n.gen, late });
          break;
        }
        case 'alarm':
          this.stats.alarms[a.code] = (this.stats.alarms[a.code] ?? 0) + 1;
          if (a.code === 'PEER_DEAD' && this.nodes[n.index === 0 ? 1 : 0].up) this.stats.spuriousDeaths += 1;
          break;
        case 'transition':
          n.transitions += 1;
          if (a.to === 'ACTIVE') this.stats.takeovers[a.reason] = (this.stats.takeovers[a.reason] ?? 0) + 1;
          break;
        case 'exit':
          this.down(n, 'exit');
          this.push(this.now + this.draw(this.settings.restartMs), {
            kind: 'restart',
            node: n.index,
            gen: n.gen,
          });
          return;
        case 'announce':
          break;
      }
    }
  }

  private send(n: SimNode, links: readonly LinkName[], hb: Heartbeat): void {
    this.stats.sent += 1;
    const to = this.nodes[n.index === 0 ? 1 : 0];
    const dir: Direction = n.index;
    const meta: FrameMeta = { sender: n.index, sentAt: this.now, sentStep: this.stats.steps };
    const full = this.settings.fullCodec;
    let bytes: Buffer | undefined;
    const encoded = (): Buffer => {
      if (bytes === undefined) {
        bytes = encodeHeartbeat(hb, this.key);
        this.sentFrames.set(`${hb.nodeId}:${hb.boot}:${hb.seq}`, JSON.stringify(hb));
      }
      return bytes;
    };
    for (const name of links) {
      const link = this.links.get(name);
      if (link === undefined) continue;
      for (const copy of link.transmit(dir, this.now, this.rng)) {
        let out: Buffer | undefined = full ? encoded() : undefined;
        let mangled = false;
        if (copy.corrupt) {
          out = this.mangle(encoded(), name);
          mangled = true;
        }
        this.push(this.now + copy.delayMs, {
          kind: 'deliver',
          node: to.index,
          link: name,
          hb,
          bytes: out,
          mangled,
          meta,
          gen: to.gen,
        });
      }
    }
  }

  /** Flipped bits, a frame cut short (cable), or line noise in front of an intact frame (cable). */
  private mangle(frame: Buffer, link: LinkName): Buffer {
    const r = this.rng.float();
    if (link === 'serial' && r < 0.15) {
      const noise = Buffer.from(Array.from({ length: this.rng.int(1, 12) }, () => this.rng.int(0, 255)));
      return Buffer.concat([noise, frame]);
    }
    if (link === 'serial' && r < 0.3)
      return Buffer.from(frame.subarray(0, this.rng.int(1, frame.length - 1)));
    const out = Buffer.from(frame);
    const bits = new Set<number>();
    for (let flips = this.rng.int(1, 3); bits.size < flips; ) bits.add(this.rng.int(0, out.length * 8 - 1));
    for (const bit of bits) out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
    return out;
  }

  // -------------------------------------------------------------------------------------------------
  // Trace

  trace(line: string): void {
    const t = this.traceLines;
    if (t === undefined) return;
    t.push(`${this.now.toFixed(3).padStart(10)} ${line}`);
    if (t.length > 4000) t.splice(0, 1000);
  }

  traceTail(lines: number): string[] {
    return (this.traceLines ?? []).slice(-lines);
  }
}

function describeEvent(e: ClusterEvent): string {
  switch (e.type) {
    case 'frame':
      return `frame ${e.link} (${e.hb.role} e${e.hb.epoch} b${e.hb.boot} s${e.hb.seq}${e.hb.flags.yield ? ' yield' : ''}${e.hb.flags.wantActive ? ' want' : ''}${e.hb.flags.leaving ? ' leaving' : ''})`;
    case 'command':
      return `command ${e.command}`;
    case 'health':
      return `health ${e.score}`;
    case 'ping-result':
      return `ping-result #${e.id} ${e.reachable ? 'reachable' : 'unreachable'}`;
    case 'fence-result':
      return `fence-result #${e.id} ${e.ok ? 'ok' : 'FAILED'}`;
    case 'carrier':
      return `carrier ${e.link} ${e.up ? 'up' : 'down'}`;
    default:
      return e.type;
  }
}

function describeActions(r: StepResult): string {
  const parts = r.actions.map((a) => {
    switch (a.type) {
      case 'send':
        return `send(${a.hb.role} e${a.hb.epoch} s${a.hb.seq})`;
      case 'transition':
        return `${a.from}→${a.to}(${a.reason})`;
      case 'alarm':
        return `alarm ${a.code}${a.link ? `/${a.link}` : ''}`;
      case 'persist-epoch':
      case 'acquire':
        return `${a.type}(${a.epoch})`;
      case 'ping-check':
      case 'fence-peer':
        return `${a.type}#${a.id}`;
      default:
        return a.type;
    }
  });
  return `[${r.state.role} e${r.state.epoch}] ${parts.join(' ')}`;
}
