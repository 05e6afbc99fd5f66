/**
 * Desired forwarding → the nftables objects that carry it out (pure). Each method has two tables:
 *   - a slot table (`tandem_dr_slots`, `tandem_nat_slots`), whose base chain runs first: per service, a
 *     rule hashes the flow (jhash of the client address and port, or the address alone with persistence
 *     or sh, with the pair's shared seed) into `meta mark` and maps that slot to its packed value
 *     (`slot_<svc>`, the big map: one element per slot; slots.ts): the slot's base server and the
 *     fallback server for when the base server takes no new flows, tagged with SERVER_TAG;
 *   - the forwarding table (`tandem_dr`, `tandem_nat`): per service, a counted rule jumps through
 *     `srv_<svc>` (base server → its chain; for a server that is down, drained or of weight 0, the
 *     fallback chain `f_<svc>`, which goes on through `up_<svc>` by the fallback server). So a change of
 *     health rewrites one `srv_` element, never the big map. DR over TCP drains without conntrack: the
 *     drained server's `srv_` element goes to `d_<svc>_<i>`, where SYNs (new flows) go to the fallback
 *     and are remembered in the timed set `mv_<svc>` with the packets that follow them, and every other
 *     packet (a flow the server had) stays with the server. UDP has no flow start to tell: DR UDP
 *     drain moves the drained server's flows like down does. NAT needs none of this (conntrack keeps
 *     established flows; the nat chains see first packets only).
 * Kept apart, the counters can be listed without nft fetching the big maps (nft 1.0.6 fetches every set
 * element of a table it lists, even for `list counters`: ~0.4 s per 65537-slot map). Both tables change
 * in the same batch, so a change is still one transaction.
 *
 * nft 1.0.6's JSON cannot declare `typeof` maps and refuses a jhash key on a map declared `type mark`, so
 * the hash goes through `meta mark` (a 32-bit integer of type mark) first; the mark never leaves the box
 * (veth and real NICs scrub it between namespaces and on the wire). A slot map without an entry for the
 * slot leaves the untagged hash in the mark, which no `srv_` map knows: the packet is not forwarded.
 *
 * DR: netdev tables, ingress chains on the client link, `fwd ip to <server> device <server link>`
 * (stateless, no conntrack: flows survive a failover to a peer with the same table). Counters see the
 * client→server direction only; the replies go straight back from the real servers.
 * NAT: inet tables, nat prerouting `dnat to <server>[:port]`; the server chain also sets `ct mark` so the
 * forward chain counts both directions per server. The return path is routing: the real servers'
 * default route points at the floating server-side gateway the active director owns.
 */
import type { Chain, Family, JsonValue, Statement, TableRef } from '../../../hal/packetfilter/types.ts';
import type { DesiredForwarding, RealServer, VirtualService } from '../model.ts';
import { serverKey } from '../model.ts';
import type { Allocation } from './allocation.ts';
import { names } from './names.ts';
import {
  BASE_MASK,
  BaseTables,
  baseKey,
  FALLBACK_MASK,
  fallbackKey,
  packedSlots,
  SERVER_TAG,
  takesNewFlows,
} from './slots.ts';

export { SERVER_TAG } from './slots.ts';

export interface NftPlaneOptions {
  /** The client-facing link: DR's ingress chain hooks it. */
  clientLink: string;
  /** The server-facing link: DR forwards out of it. */
  serverLink: string;
  drTable?: string;
  natTable?: string;
}

export interface MapSpec {
  readonly type: string;
  readonly map: string;
}

/** A set the packet path fills (the DR drain's moved flows): declared, never given elements. */
export interface DynamicSet {
  readonly type: string[];
  readonly timeout: number;
  readonly size: number;
}

/** One table as the plane wants it. Rules are lists of statements; maps hold their elements by key. */
export interface TableProgram {
  readonly table: TableRef;
  readonly baseChains: ReadonlyMap<string, Chain>;
  /** Rules of every chain, base and regular, in order. */
  readonly rules: ReadonlyMap<string, readonly Statement[][]>;
  readonly counters: ReadonlyMap<string, string>;
  readonly maps: ReadonlyMap<
    string,
    { readonly spec: MapSpec; readonly elems: ReadonlyMap<number, JsonValue> }
  >;
  /** The big maps: slot → packed server indexes (slots.ts), as a typed array (-1: no server). */
  readonly slotMaps: ReadonlyMap<string, Int32Array>;
  readonly sets: ReadonlyMap<string, DynamicSet>;
}

export type TableKey = 'drSlots' | 'dr' | 'natSlots' | 'nat';
export const TABLE_KEYS: readonly TableKey[] = ['drSlots', 'dr', 'natSlots', 'nat'];

export interface NftProgram {
  /** The tables this plane owns, whether or not the program has anything in them. */
  readonly refs: Readonly<Record<TableKey, TableRef>>;
  readonly tables: Readonly<Record<TableKey, TableProgram | undefined>>;
}

/** lc/wlc re-weighting: weights by service name, then by server key. */
export type WeightOverrides = ReadonlyMap<string, ReadonlyMap<string, number>>;

const MARK: JsonValue = { meta: { key: 'mark' } };
const SERVER_MAP: MapSpec = { type: 'mark', map: 'verdict' };

const match = (left: JsonValue, right: JsonValue): Statement => ({ match: { op: '==', left, right } });
const payload = (protocol: string, field: string): JsonValue => ({ payload: { protocol, field } });

export function tableRefs(o: NftPlaneOptions): NftProgram['refs'] {
  const dr = o.drTable ?? 'tandem_dr';
  const nat = o.natTable ?? 'tandem_nat';
  return {
    drSlots: { family: 'netdev', name: `${dr}_slots` },
    dr: { family: 'netdev', name: dr },
    natSlots: { family: 'inet', name: `${nat}_slots` },
    nat: { family: 'inet', name: nat },
  };
}

/** How long a flow started on a draining server's slot is remembered after its last packet (s). */
export const MOVED_FLOW_TIMEOUT_S = 600;
const MOVED_FLOW_MAX = 262_144;

function serviceMatch(s: VirtualService): Statement[] {
  const ip = s.family === 4 ? 'ip' : 'ip6';
  // DR's ingress hook sees every frame the link receives, also those a switch floods for another MAC (its
  // peer's, after a link went down): only frames addressed to this box are ours to forward, else both
  // directors would forward the same packet. The IP stack drops the others before NAT's prerouting.
  const out = s.method === 'dr' ? [match({ meta: { key: 'pkttype' } }, 'host')] : [];
  out.push(match(payload(ip, 'daddr'), s.vip));
  out.push(
    s.port === undefined
      ? match({ meta: { key: 'l4proto' } }, s.protocol)
      : match(payload(s.protocol, 'dport'), s.port),
  );
  return out;
}

/** The flow hash: client address and port, or the address alone (persistence, sh). */
function flowHash(s: VirtualService, seed: number): JsonValue {
  const ip = s.family === 4 ? 'ip' : 'ip6';
  const byAddress = s.persistence > 0 || s.scheduler === 'sh';
  const expr = byAddress
    ? payload(ip, 'saddr')
    : { concat: [payload(ip, 'saddr'), payload(s.protocol, 'sport')] };
  return { jhash: { mod: s.slots, seed, expr } };
}

/** In the slot table: flow → slot → tagged server index, in the mark. */
function pickSlot(s: VirtualService, seed: number): Statement[] {
  return [
    ...serviceMatch(s),
    { mangle: { key: MARK, value: flowHash(s, seed) } },
    { mangle: { key: MARK, value: { map: { key: MARK, data: `@${names.slotMap(s.name)}` } } } },
  ];
}

const masked = (mask: number): JsonValue => ({ '&': [MARK, mask] });

/** In the forwarding table: count, then to the chain the slot's base server has in `srv_`. */
function dispatch(s: VirtualService): Statement[] {
  return [
    ...serviceMatch(s),
    { counter: names.serviceCounter(s.name) },
    { vmap: { key: masked(SERVER_TAG | BASE_MASK), data: `@${names.serverMap(s.name)}` } },
  ];
}

/** The slot's fallback server, for flows its base server does not take (`up_` has every server). */
function fallback(s: VirtualService): Statement[][] {
  return [[{ vmap: { key: masked(FALLBACK_MASK), data: `@${names.upMap(s.name)}` } }]];
}

/** The flow's identity for the drain's memory: client address and port. */
function flowKey(s: VirtualService): JsonValue {
  const ip = s.family === 4 ? 'ip' : 'ip6';
  return { concat: [payload(ip, 'saddr'), payload(s.protocol, 'sport')] };
}

/**
 * DR over TCP, a draining server: it keeps the flows it has and gets no new ones, without conntrack.
 * A SYN is a new flow: it goes to the slot's fallback and is remembered in `mv_`, as are its later
 * packets (each refreshes the entry); any other packet belongs to a flow the server already had.
 */
function drainRules(s: VirtualService, serverChain: string): Statement[][] {
  const set = `@${names.movedSet(s.name)}`;
  const toFallback = { goto: { target: names.fallbackChain(s.name) } };
  return [
    [match(flowKey(s), set), { set: { op: 'update', elem: flowKey(s), set } }, toFallback],
    [
      match({ '&': [payload('tcp', 'flags'), ['syn', 'ack']] }, 'syn'),
      { set: { op: 'add', elem: flowKey(s), set } },
      toFallback,
    ],
    [{ goto: { target: serverChain } }],
  ];
}

interface Builder {
  rules: Map<string, Statement[][]>;
  counters: Map<string, string>;
  maps: Map<string, { spec: MapSpec; elems: Map<number, JsonValue> }>;
  slotMaps: Map<string, Int32Array>;
  sets: Map<string, DynamicSet>;
}

function newBuilder(): Builder {
  return { rules: new Map(), counters: new Map(), maps: new Map(), slotMaps: new Map(), sets: new Map() };
}

function describeServer(s: VirtualService, r: RealServer): string {
  const where = s.family === 6 ? `[${r.address}]` : r.address;
  return `${s.name} ${where}:${r.port ?? s.port ?? '*'}`;
}

/** The per-service part common to both methods: counters, the two maps, the server chains' names. */
function addService(
  b: Builder,
  slotsB: Builder,
  s: VirtualService,
  allocation: Allocation,
  weights: ReadonlyMap<string, number> | undefined,
  cache: BaseTables,
  serverRules: (r: RealServer, index: number) => Statement[][],
): void {
  const alloc = allocation.services.get(s.name);
  if (alloc === undefined) throw new RangeError(`service ${s.name} has no allocation`);
  b.counters.set(names.serviceCounter(s.name), `service ${s.name}`);
  const serverMap = new Map<number, JsonValue>();
  const upMap = new Map<number, JsonValue>();
  const fallbackChain = names.fallbackChain(s.name);
  // DR over TCP can keep a draining server's flows (drainRules); NAT's conntrack keeps them by itself.
  const drainable = s.method === 'dr' && s.protocol === 'tcp';
  let drains = false;
  for (const r of s.servers) {
    const index = alloc.servers.get(serverKey(s, r)) as number;
    const chain = names.serverChain(s.name, index);
    b.counters.set(names.serverPackets(s.name, index), describeServer(s, r));
    b.counters.set(names.serverConnections(s.name, index), `${describeServer(s, r)} connections`);
    b.rules.set(chain, serverRules(r, index));
    upMap.set(fallbackKey(index), { goto: { target: chain } });
    const weight = weights?.get(serverKey(s, r)) ?? r.weight;
    let target = chain;
    if (!takesNewFlows(r.state, weight)) {
      target = fallbackChain;
      if (drainable && r.state !== 'down') {
        target = names.drainChain(s.name, index);
        b.rules.set(target, drainRules(s, chain));
        drains = true;
      }
    }
    serverMap.set(baseKey(index), { goto: { target } });
  }
  b.rules.set(fallbackChain, fallback(s));
  b.maps.set(names.serverMap(s.name), { spec: SERVER_MAP, elems: serverMap });
  b.maps.set(names.upMap(s.name), { spec: SERVER_MAP, elems: upMap });
  if (drains) {
    const ip = s.family === 4 ? 'ipv4_addr' : 'ipv6_addr';
    b.sets.set(names.movedSet(s.name), {
      type: [ip, 'inet_service'],
      timeout: MOVED_FLOW_TIMEOUT_S,
      size: MOVED_FLOW_MAX,
    });
  }
  slotsB.slotMaps.set(names.slotMap(s.name), packedSlots(s, alloc.servers, weights, cache));
}

function finish(b: Builder, table: TableRef, baseChains: Map<string, Chain>): TableProgram {
  return {
    table,
    baseChains,
    rules: b.rules,
    counters: b.counters,
    maps: b.maps,
    slotMaps: b.slotMaps,
    sets: b.sets,
  };
}

function drTables(
  desired: DesiredForwarding,
  allocation: Allocation,
  weights: WeightOverrides,
  cache: BaseTables,
  o: NftPlaneOptions,
): { drSlots: TableProgram | undefined; dr: TableProgram | undefined } {
  const services = desired.services.filter((s) => s.method === 'dr');
  if (services.length === 0) return { drSlots: undefined, dr: undefined };
  const refs = tableRefs(o);
  const b = newBuilder();
  const slots = newBuilder();
  const base = (table: TableRef, prio: number): Chain => ({
    family: 'netdev',
    table: table.name,
    name: 'ingress',
    type: 'filter',
    hook: 'ingress',
    prio,
    dev: o.clientLink,
    policy: 'accept',
  });
  b.rules.set('ingress', []);
  slots.rules.set('ingress', []);
  for (const s of services) {
    addService(b, slots, s, allocation, weights.get(s.name), cache, (r, i) => {
      const rules: Statement[][] = [];
      if (s.protocol === 'tcp') {
        rules.push([
          match({ '&': [payload('tcp', 'flags'), ['syn', 'ack']] }, 'syn'),
          { counter: names.serverConnections(s.name, i) },
        ]);
      }
      rules.push([
        { counter: names.serverPackets(s.name, i) },
        { fwd: { dev: o.serverLink, family: s.family === 4 ? 'ip' : 'ip6', addr: r.address } },
      ]);
      return rules;
    });
    (slots.rules.get('ingress') as Statement[][]).push(pickSlot(s, desired.hashSeed));
    (b.rules.get('ingress') as Statement[][]).push(dispatch(s));
  }
  return {
    drSlots: finish(slots, refs.drSlots, new Map([['ingress', base(refs.drSlots, -210)]])),
    dr: finish(b, refs.dr, new Map([['ingress', base(refs.dr, -200)]])),
  };
}

function natTables(
  desired: DesiredForwarding,
  allocation: Allocation,
  weights: WeightOverrides,
  cache: BaseTables,
  o: NftPlaneOptions,
): { natSlots: TableProgram | undefined; nat: TableProgram | undefined } {
  const services = desired.services.filter((s) => s.method === 'nat');
  if (services.length === 0) return { natSlots: undefined, nat: undefined };
  const family: Family = 'inet';
  const refs = tableRefs(o);
  const table = refs.nat;
  const b = newBuilder();
  const slots = newBuilder();
  slots.rules.set('prerouting', []);
  // A nat chain too, so the hash runs on a connection's first packet only.
  const slotChain: Chain = {
    family,
    table: refs.natSlots.name,
    name: 'prerouting',
    type: 'nat',
    hook: 'prerouting',
    prio: -110,
    policy: 'accept',
  };
  const chains = new Map<string, Chain>([
    [
      'prerouting',
      {
        family,
        table: table.name,
        name: 'prerouting',
        type: 'nat',
        hook: 'prerouting',
        prio: -100,
        policy: 'accept',
      },
    ],
    [
      'postrouting',
      {
        family,
        table: table.name,
        name: 'postrouting',
        type: 'nat',
        hook: 'postrouting',
        prio: 100,
        policy: 'accept',
      },
    ],
    [
      'forward',
      {
        family,
        table: table.name,
        name: 'forward',
        type: 'filter',
        hook: 'forward',
        prio: -150,
        policy: 'accept',
      },
    ],
  ]);
  const ctCounters = new Map<number, JsonValue>();
  b.rules.set('prerouting', []);
  b.rules.set('postrouting', []);
  b.rules.set('forward', [
    [{ counter: { map: { key: { ct: { key: 'mark' } }, data: `@${names.ctCounterMap}` } } }],
  ]);
  for (const s of services) {
    const id = allocation.services.get(s.name)?.id as number;
    const ctmarks = new Map<RealServer, number>();
    addService(b, slots, s, allocation, weights.get(s.name), cache, (r, i): Statement[][] => {
      const ctmark = id * 0x10000 + i;
      ctmarks.set(r, ctmark);
      ctCounters.set(ctmark, names.serverPackets(s.name, i));
      const to: { [key: string]: JsonValue } = { family: s.family === 4 ? 'ip' : 'ip6', addr: r.address };
      if (r.port !== undefined) to.port = r.port;
      return [
        [
          // dnat to a port needs the transport protocol matched in the same rule.
          match({ meta: { key: 'l4proto' } }, s.protocol),
          { counter: names.serverConnections(s.name, i) },
          { mangle: { key: { ct: { key: 'mark' } }, value: ctmark } },
          { dnat: to },
        ],
      ];
    });
    (slots.rules.get('prerouting') as Statement[][]).push(pickSlot(s, desired.hashSeed));
    (b.rules.get('prerouting') as Statement[][]).push(dispatch(s));
    (b.rules.get('postrouting') as Statement[][]).push(...pickUpReplies(s, ctmarks));
  }
  b.maps.set(names.ctCounterMap, { spec: { type: 'mark', map: 'counter' }, elems: ctCounters });
  return {
    natSlots: finish(slots, refs.natSlots, new Map([['prerouting', slotChain]])),
    nat: finish(b, table, chains),
  };
}

/**
 * A NAT flow that reaches this director mid-stream (after a failover) is picked up by conntrack (loose
 * mode). When the client's packet comes first, the prerouting rule hashes it to the same server the old
 * director chose. When the server's packet comes first, conntrack records the flow the wrong way round,
 * and nothing would translate its source back to the VIP: these rules do, so the client's next packet
 * matches the entry's reply side and goes to the same server. Established flows never reach them (nat
 * chains see only a connection's first packet). Only for services of one port.
 */
function pickUpReplies(s: VirtualService, ctmarks: ReadonlyMap<RealServer, number>): Statement[][] {
  // All-ports services get none: every flow their servers start would leave as the VIP.
  if (s.port === undefined) return [];
  const port = s.port;
  const ip = s.family === 4 ? 'ip' : 'ip6';
  return s.servers.map((r) => {
    const to: { [key: string]: JsonValue } = { family: ip, addr: s.vip };
    if (r.port !== undefined) to.port = port;
    return [
      match(payload(ip, 'saddr'), r.address),
      match(payload(s.protocol, 'sport'), r.port ?? port),
      // The server's ct mark, so the forward chain counts the picked-up flow like any other.
      { mangle: { key: { ct: { key: 'mark' } }, value: ctmarks.get(r) as number } },
      { snat: to },
    ];
  });
}

/** The whole program for a desired state; `allocation` must come from allocate(…, desired). */
export function buildProgram(
  desired: DesiredForwarding,
  allocation: Allocation,
  options: NftPlaneOptions,
  weights: WeightOverrides = new Map(),
  /** Base tables kept from earlier calls (a plane keeps one); see slots.ts. */
  cache: BaseTables = new BaseTables(),
): NftProgram {
  return {
    refs: tableRefs(options),
    tables: {
      ...drTables(desired, allocation, weights, cache, options),
      ...natTables(desired, allocation, weights, cache, options),
    },
  };
}
