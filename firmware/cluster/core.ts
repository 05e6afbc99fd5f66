/**
 * The cluster core: membership and the failover state machine of one node, as
 * `step(state, event, now) → { state, actions }`.
 *
 * Rule 1: everything that decides a role change lives in this file (the election orders are in
 * election.ts). The transition table below says which events each role accepts; an event with no entry
 * is an ImpossibleEventError naming the role and the event. After the event's handler, the role's
 * state-triggered rules run until the role stops changing (h11's fixed point).
 *
 * Rule 2: pure. No clock, randomness, I/O, logging, timers or awaits. Time comes in as `now` (this node's
 * monotonic milliseconds, never going backwards: CLUSTER_TIME_BACKWARDS), effects go out as actions that
 * the shell carries out in order, and `nextDeadline` gives the one timer to arm. The state passed in is
 * never changed.
 *
 * Rule 3: the same rules on both nodes, applied to the same facts, pick the same winner: elections by
 * (priority, then lower node id), two actives by (epoch, then the election). No extra messages.
 *
 * Rule 4: a link is alive while a fresh frame arrived on it within deadMs; the peer is alive while any
 * link is. Losing one link is an alarm, never a takeover. Frames are fresh when their (boot, seq) is
 * newer than the last accepted on that link; the peer's facts come only from the newest frame overall.
 *
 * Rule 5: taking over from a silent peer goes through the split-brain path: ask the ping node (when one
 * is configured; no answer means this node is the isolated one), then pull the fence line (when the
 * board has one; a failed fence means no takeover), then ACTIVE with epoch = highest known + 1,
 * `persist-epoch` before `acquire`. A peer that says it yields, left, or is not eligible needs no check.
 *
 * Rule 6: epochs are fencing tokens. An ACTIVE that sees the peer ACTIVE with a higher epoch (or the same
 * epoch and it wins the election) releases at once; the winner re-announces. An ACTIVE that sees a higher
 * epoch on a non-active peer takes a newer one.
 *
 * Rule 7: a starting node sends from the first moment but decides nothing before initDeadMs, unless it
 * hears an ACTIVE peer (then STANDBY at once). Two starting nodes elect; the loser waits for the winner.
 *
 * Rule 8: handover keeps the VIPs until the peer is seen ACTIVE with a higher epoch (one frame of overlap,
 * no gap), and is abandoned after handoverTimeoutMs (HANDOVER_TIMEOUT), or at once when the peer dies or
 * restarts (HANDOVER_ABORTED: a freshly booted peer is not handed the VIPs), except on leave, which
 * releases and exits anyway. MAINTENANCE and FAULT never take over.
 *
 * Rule 9: a node that was not stepped for 2 × keepaliveMs was stalled (its own process, not the peer);
 * it declares no link dead until it has been awake for 2 × keepaliveMs, so the frames that queued up
 * during the stall are read before silence is judged.
 */
import { resolveConfig } from './config.ts';
import { winsDualActive, winsElection } from './election.ts';
import { ClusterError, CommandRejectedError, ImpossibleEventError } from './errors.ts';
import type {
  ClusterAction,
  ClusterConfig,
  ClusterConfigInput,
  ClusterEvent,
  Command,
  CoreState,
  HandoverPurpose,
  Heartbeat,
  HeartbeatFlags,
  LinkName,
  LinkState,
  PeerView,
  Role,
  StepResult,
  TransitionReason,
  WireRole,
} from './types.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Ctx {
  readonly s: Mutable<CoreState> & { links: LinkState[] };
  readonly now: number;
  readonly out: ClusterAction[];
}

export interface InitialOptions {
  /** This boot's counter (persisted, incremented at every start). */
  boot: number;
  /** The node's monotonic clock now. */
  now: number;
  /** The epoch persisted by an earlier `persist-epoch` (0 on a new node). */
  epoch?: number;
  /** The health score at start (default 100). */
  health?: number;
}

const MAX_U32 = 2 ** 32 - 1;

function checkInt(what: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ClusterError(
      'CLUSTER_INVALID_EVENT',
      `${what} should be an integer ${min}..${max}, got ${value}`,
    );
  }
}

/** The state of a node that has not started yet (role OFF). Validates the configuration. */
export function initialState(config: ClusterConfigInput | ClusterConfig, options: InitialOptions): CoreState {
  const cfg = resolveConfig(config);
  checkInt('boot', options.boot, 0, MAX_U32);
  checkInt('epoch', options.epoch ?? 0, 0, MAX_U32);
  checkInt('health', options.health ?? 100, 0, 100);
  if (!Number.isFinite(options.now)) {
    throw new ClusterError('CLUSTER_INVALID_EVENT', `now should be a finite number, got ${options.now}`);
  }
  const epoch = options.epoch ?? 0;
  return {
    config: cfg,
    role: 'OFF',
    boot: options.boot,
    epoch,
    persistedEpoch: epoch,
    health: options.health ?? 100,
    seq: 0,
    now: options.now,
    startedAt: options.now,
    awakeSince: Number.NEGATIVE_INFINITY,
    nextSendAt: undefined,
    lastSent: undefined,
    links: cfg.links.map((name) => ({
      name,
      status: 'unknown',
      carrier: true,
      lastHeardAt: undefined,
      boot: undefined,
      lastSeq: 0,
    })),
    peer: undefined,
    peerAlive: false,
    peerLeft: false,
    maxEpochSeen: epoch,
    pending: undefined,
    lastCheckId: 0,
    retryAt: undefined,
    isolated: false,
    handover: undefined,
    handoverRetryAt: undefined,
    wantActiveUntil: undefined,
    preemptSince: undefined,
    splitBrainSeen: false,
    drops: { replayed: 0, stale: 0, ownId: 0, lateResults: 0 },
  };
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

const graceMs = (c: ClusterConfig): number => 2 * c.keepaliveMs;

function eligible(ctx: Ctx): boolean {
  return ctx.s.health >= ctx.s.config.minHealth;
}

function livePeer(ctx: Ctx): PeerView | undefined {
  return ctx.s.peerAlive ? ctx.s.peer : undefined;
}

function alarm(
  ctx: Ctx,
  code: Extract<ClusterAction, { type: 'alarm' }>['code'],
  detail: string,
  link?: LinkName,
): void {
  ctx.out.push(link === undefined ? { type: 'alarm', code, detail } : { type: 'alarm', code, link, detail });
}

function setRole(ctx: Ctx, to: Role, reason: TransitionReason): void {
  const s = ctx.s;
  if (s.role === to) return;
  ctx.out.push({ type: 'transition', from: s.role, to, reason });
  s.role = to;
  s.pending = undefined;
  s.handover = undefined;
  s.wantActiveUntil = undefined;
  s.preemptSince = undefined;
  s.splitBrainSeen = false;
  if (to !== 'ACTIVE') s.epoch = Math.max(s.epoch, s.maxEpochSeen);
}

function takeOver(ctx: Ctx, reason: TransitionReason): void {
  const s = ctx.s;
  const epoch = Math.max(s.epoch, s.maxEpochSeen, s.persistedEpoch) + 1;
  setRole(ctx, 'ACTIVE', reason);
  s.epoch = epoch;
  s.persistedEpoch = epoch;
  s.maxEpochSeen = epoch;
  // The new ACTIVE's own isolation check (rule 5) waits a recheck period: it has just decided.
  s.retryAt = ctx.now + s.config.recheckMs;
  s.handoverRetryAt = undefined;
  ctx.out.push({ type: 'persist-epoch', epoch }, { type: 'acquire', epoch });
}

function releaseTo(ctx: Ctx, to: Role, reason: TransitionReason): void {
  ctx.out.push({ type: 'release' });
  setRole(ctx, to, reason);
}

function issueCheck(ctx: Ctx, kind: 'ping' | 'fence', purpose: 'takeover' | 'isolation'): void {
  const s = ctx.s;
  const id = s.lastCheckId + 1;
  s.lastCheckId = id;
  s.pending = { kind, id, purpose, deadline: ctx.now + s.config.checkTimeoutMs };
  ctx.out.push(kind === 'ping' ? { type: 'ping-check', id } : { type: 'fence-peer', id });
}

function startHandover(ctx: Ctx, purpose: HandoverPurpose): void {
  const s = ctx.s;
  s.handover = { purpose, deadline: ctx.now + s.config.handoverTimeoutMs, peerBoot: livePeer(ctx)?.boot };
}

/** A STANDBY peer healthy enough to take the VIPs. */
function handoverTarget(ctx: Ctx): PeerView | undefined {
  const p = livePeer(ctx);
  return p && p.role === 'STANDBY' && p.health >= ctx.s.config.minHealth ? p : undefined;
}

const roleAfterHandover: Record<HandoverPurpose, Role> = {
  failover: 'STANDBY',
  requested: 'STANDBY',
  maintenance: 'MAINTENANCE',
  health: 'FAULT',
  leave: 'STOPPED',
};

function linkIndex(ctx: Ctx, link: unknown, event: string): number {
  const i = ctx.s.links.findIndex((l) => l.name === link);
  if (i < 0) {
    throw new ClusterError(
      'CLUSTER_INVALID_EVENT',
      `${event} on link ${String(link)}, which this node does not have (${ctx.s.config.links.join(', ')})`,
    );
  }
  return i;
}

// ---------------------------------------------------------------------------------------------------
// Event handlers (event-triggered transitions)

type Handler = (ctx: Ctx, ev: ClusterEvent) => void;

function onStart(ctx: Ctx): void {
  ctx.s.startedAt = ctx.now;
  ctx.s.nextSendAt = ctx.now;
  setRole(ctx, 'INIT', 'start');
}

function onFrame(ctx: Ctx, ev: ClusterEvent): void {
  if (ev.type !== 'frame') return;
  const s = ctx.s;
  const i = linkIndex(ctx, ev.link, 'frame');
  const hb = ev.hb;
  if (hb.nodeId === s.config.nodeId) {
    if (s.drops.ownId === 0)
      alarm(ctx, 'NODE_ID_CONFLICT', `a frame carried this node's id ${hb.nodeId}`, ev.link);
    s.drops = { ...s.drops, ownId: s.drops.ownId + 1 };
    return;
  }
  const peer = s.peer;
  if (peer !== undefined && hb.boot < peer.boot) {
    s.drops = { ...s.drops, stale: s.drops.stale + 1 };
    return;
  }
  const link = s.links[i] as LinkState;
  if (link.boot === hb.boot && hb.seq <= link.lastSeq) {
    s.drops = { ...s.drops, replayed: s.drops.replayed + 1 };
    return;
  }
  if (link.status === 'warn' || link.status === 'down')
    alarm(ctx, 'LINK_UP', `${link.name} carries frames again`, link.name);
  s.links[i] = { ...link, status: 'up', carrier: true, lastHeardAt: ctx.now, boot: hb.boot, lastSeq: hb.seq };
  if (!s.peerAlive && peer !== undefined) alarm(ctx, 'PEER_BACK', `heard node ${hb.nodeId} on ${link.name}`);
  s.peerAlive = true;
  s.isolated = false;
  s.retryAt = undefined;
  if (peer === undefined || hb.boot > peer.boot || hb.seq > peer.seq) {
    if (peer !== undefined && hb.boot > peer.boot) {
      alarm(ctx, 'PEER_RESTARTED', `node ${hb.nodeId} boot ${peer.boot} → ${hb.boot}`);
    }
    s.peer = {
      nodeId: hb.nodeId,
      boot: hb.boot,
      seq: hb.seq,
      epoch: hb.epoch,
      role: hb.role,
      priority: hb.priority,
      health: hb.health,
      flags: { ...hb.flags },
      heardAt: ctx.now,
    };
    s.maxEpochSeen = Math.max(s.maxEpochSeen, hb.epoch);
    if (s.role !== 'ACTIVE') s.epoch = Math.max(s.epoch, hb.epoch);
    const left = hb.role === 'STOPPED';
    if (left && !s.peerLeft) alarm(ctx, 'PEER_LEFT', `node ${hb.nodeId} left the cluster`);
    s.peerLeft = left;
  }
}

function onHealth(ctx: Ctx, ev: ClusterEvent): void {
  if (ev.type !== 'health') return;
  checkInt('health score', ev.score, 0, 100);
  ctx.s.health = ev.score;
}

function onCarrier(ctx: Ctx, ev: ClusterEvent): void {
  if (ev.type !== 'carrier') return;
  const i = linkIndex(ctx, ev.link, 'carrier');
  const link = ctx.s.links[i] as LinkState;
  if (!ev.up && link.status !== 'down' && !ctx.s.peerLeft) {
    alarm(ctx, 'LINK_DOWN', `${link.name} lost carrier`, link.name);
  }
  ctx.s.links[i] = ev.up ? { ...link, carrier: true } : { ...link, carrier: false, status: 'down' };
}

/** The pending check this result answers, or undefined for a late or abandoned one (counted). */
function takeResult(ctx: Ctx, kind: 'ping' | 'fence', id: unknown, event: string) {
  const s = ctx.s;
  checkInt(`${event} id`, id, 1, Number.MAX_SAFE_INTEGER);
  if ((id as number) > s.lastCheckId) {
    throw new ImpossibleEventError(
      s.role,
      event,
      `check ${id} was never asked for (last was ${s.lastCheckId})`,
    );
  }
  const p = s.pending;
  if (p === undefined || p.kind !== kind || p.id !== id) {
    s.drops = { ...s.drops, lateResults: s.drops.lateResults + 1 };
    return undefined;
  }
  s.pending = undefined;
  return p;
}

function onPingResult(ctx: Ctx, ev: ClusterEvent): void {
  if (ev.type !== 'ping-result') return;
  const p = takeResult(ctx, 'ping', ev.id, 'ping-result');
  if (p === undefined) return;
  const s = ctx.s;
  if (ev.reachable) {
    s.isolated = false;
    if (p.purpose === 'isolation') {
      s.retryAt = ctx.now + s.config.recheckMs;
    } else if (s.config.fence) {
      issueCheck(ctx, 'fence', 'takeover');
    } else {
      takeOver(ctx, 'peer-dead');
    }
    return;
  }
  s.retryAt = ctx.now + s.config.recheckMs;
  const first = !s.isolated;
  s.isolated = true;
  if (first) alarm(ctx, 'ISOLATED', 'every link is down and the ping node does not answer');
  if (s.role === 'ACTIVE') releaseTo(ctx, 'FAULT', 'isolated');
  else if (s.role === 'INIT') setRole(ctx, 'STANDBY', 'isolated');
}

function onFenceResult(ctx: Ctx, ev: ClusterEvent): void {
  if (ev.type !== 'fence-result') return;
  const p = takeResult(ctx, 'fence', ev.id, 'fence-result');
  if (p === undefined) return;
  if (ev.ok) {
    takeOver(ctx, 'peer-fenced');
    return;
  }
  alarm(ctx, 'FENCE_FAILED', 'the fence line did not confirm: not taking over');
  ctx.s.retryAt = ctx.now + ctx.s.config.recheckMs;
  if (ctx.s.role === 'INIT') setRole(ctx, 'STANDBY', 'peer-dead');
}

const NO_TARGET = 'no healthy STANDBY peer to hand over to';

function onFailoverActive(ctx: Ctx): void {
  if (ctx.s.handover !== undefined) return;
  if (handoverTarget(ctx) === undefined) throw new CommandRejectedError('failover', 'ACTIVE', NO_TARGET);
  startHandover(ctx, 'failover');
}

function onFailoverStandby(ctx: Ctx): void {
  const { health, config } = ctx.s;
  if (!eligible(ctx)) {
    throw new CommandRejectedError('failover', 'STANDBY', `health ${health} is below ${config.minHealth}`);
  }
  if (livePeer(ctx)?.role !== 'ACTIVE')
    throw new CommandRejectedError('failover', 'STANDBY', 'the peer is not ACTIVE');
  ctx.s.wantActiveUntil = ctx.now + config.handoverTimeoutMs;
}

function onMaintenanceActive(ctx: Ctx): void {
  const h = ctx.s.handover;
  if (h?.purpose === 'leave')
    throw new CommandRejectedError('maintenance-on', 'ACTIVE', 'a leave is in progress');
  if (h?.purpose === 'maintenance') return;
  if (handoverTarget(ctx) === undefined) {
    throw new CommandRejectedError('maintenance-on', 'ACTIVE', `${NO_TARGET}; use leave to stop anyway`);
  }
  startHandover(ctx, 'maintenance');
}

function onLeaveActive(ctx: Ctx): void {
  if (ctx.s.handover?.purpose === 'leave') return;
  if (handoverTarget(ctx) === undefined) releaseTo(ctx, 'STOPPED', 'leave');
  else startHandover(ctx, 'leave');
}

const toMaintenance = (ctx: Ctx): void => setRole(ctx, 'MAINTENANCE', 'maintenance');
const leave = (ctx: Ctx): void => setRole(ctx, 'STOPPED', 'leave');
const nothing = (): void => {};

type EventKind = Exclude<ClusterEvent['type'], 'command'> | `command:${Command}`;

const KINDS: ReadonlySet<string> = new Set<EventKind>([
  'start',
  'tick',
  'frame',
  'health',
  'carrier',
  'ping-result',
  'fence-result',
  'command:failover',
  'command:maintenance-on',
  'command:maintenance-off',
  'command:leave',
]);

const running: Partial<Record<EventKind, Handler>> = {
  tick: nothing,
  frame: onFrame,
  health: onHealth,
  carrier: onCarrier,
  'ping-result': onPingResult,
  'fence-result': onFenceResult,
  'command:leave': leave,
};

/** The event-triggered transitions: role → event kind → handler. A missing entry is impossible. */
const TABLE: Record<Role, Partial<Record<EventKind, Handler>>> = {
  OFF: { start: onStart },
  INIT: { ...running, 'command:maintenance-on': toMaintenance },
  STANDBY: { ...running, 'command:maintenance-on': toMaintenance, 'command:failover': onFailoverStandby },
  ACTIVE: {
    ...running,
    'command:maintenance-on': onMaintenanceActive,
    'command:failover': onFailoverActive,
    'command:leave': onLeaveActive,
  },
  MAINTENANCE: { ...running, 'command:maintenance-off': (ctx) => setRole(ctx, 'STANDBY', 'maintenance') },
  FAULT: { ...running, 'command:maintenance-on': toMaintenance },
  STOPPED: {},
};

const WHY: Record<Role, string> = {
  OFF: 'the node has not started (send start first)',
  INIT: 'not allowed while the node is starting',
  STANDBY: 'not allowed on a STANDBY',
  ACTIVE: 'not allowed on the ACTIVE',
  MAINTENANCE: 'not allowed in maintenance',
  FAULT: 'not allowed while FAULT',
  STOPPED: 'the node has left the cluster',
};

// ---------------------------------------------------------------------------------------------------
// State-triggered rules

/** Link statuses and the peer's liveness at `now`, with their alarms. */
function updateLinks(ctx: Ctx): void {
  const s = ctx.s;
  const c = s.config;
  const awake = ctx.now >= s.awakeSince + graceMs(c);
  const quiet = s.peerLeft;
  for (let i = 0; i < s.links.length; i++) {
    const l = s.links[i] as LinkState;
    if (!l.carrier || l.status === 'down') continue;
    if (l.lastHeardAt === undefined) {
      if (ctx.now >= s.startedAt + c.initDeadMs && awake) {
        if (!quiet) alarm(ctx, 'LINK_DOWN', `nothing heard on ${l.name} since start`, l.name);
        s.links[i] = { ...l, status: 'down' };
      }
      continue;
    }
    // Compared as `now >= heard + limit`, the very sum nextDeadline returns: `now - heard >= limit`
    // can round below the limit at the deadline and miss it.
    const silent = ctx.now - l.lastHeardAt;
    if (ctx.now >= l.lastHeardAt + c.deadMs && awake) {
      if (!quiet) alarm(ctx, 'LINK_DOWN', `${l.name} silent for ${silent.toFixed(1)} ms`, l.name);
      s.links[i] = { ...l, status: 'down' };
    } else if (ctx.now >= l.lastHeardAt + c.warnMs && awake && l.status === 'up') {
      if (!quiet) alarm(ctx, 'LINK_WARN', `${l.name} silent for ${silent.toFixed(1)} ms`, l.name);
      s.links[i] = { ...l, status: 'warn' };
    }
  }
  let alive = false;
  for (const l of s.links) if (l.status === 'up' || l.status === 'warn') alive = true;
  if (s.peerAlive && !alive && !quiet) alarm(ctx, 'PEER_DEAD', 'every link is down');
  s.peerAlive = alive;
  if (alive && s.pending?.kind === 'ping') s.pending = undefined;
  if (s.pending !== undefined && ctx.now >= s.pending.deadline) {
    const p = s.pending;
    s.pending = undefined;
    s.retryAt = ctx.now + c.recheckMs;
    if (p.kind === 'fence') alarm(ctx, 'FENCE_FAILED', `no fence result within ${c.checkTimeoutMs} ms`);
    else alarm(ctx, 'CHECK_TIMEOUT', `no ping result within ${c.checkTimeoutMs} ms`);
  }
}

/** INIT and STANDBY with a silent peer: ping, fence, take over (rule 5). */
function deadPeerPath(ctx: Ctx): void {
  const s = ctx.s;
  if (s.pending !== undefined) return;
  if (s.retryAt !== undefined && ctx.now < s.retryAt) {
    if (s.role === 'INIT') setRole(ctx, 'STANDBY', 'peer-dead');
    return;
  }
  if (s.config.pingNode) issueCheck(ctx, 'ping', 'takeover');
  else if (s.config.fence) issueCheck(ctx, 'fence', 'takeover');
  else takeOver(ctx, 'peer-dead');
}

/** A live peer that is not ACTIVE, seen by an eligible INIT (after init-dead) or STANDBY. */
function peerNotActive(ctx: Ctx, p: PeerView): void {
  switch (p.role) {
    case 'MAINTENANCE':
    case 'FAULT':
      takeOver(ctx, 'peer-ineligible');
      return;
    case 'STOPPED':
      takeOver(ctx, 'peer-left');
      return;
    default:
      return;
  }
}

function initRules(ctx: Ctx): void {
  const s = ctx.s;
  const c = s.config;
  // A fence in flight cannot be recalled: wait for its result rather than decide some other way.
  if (s.pending?.kind === 'fence') return;
  const p = livePeer(ctx);
  if (p?.role === 'ACTIVE') {
    setRole(ctx, 'STANDBY', 'peer-active');
    return;
  }
  if (ctx.now < s.startedAt + c.initDeadMs) return;
  if (!eligible(ctx)) {
    setRole(ctx, 'FAULT', 'unhealthy');
    return;
  }
  if (p === undefined) {
    deadPeerPath(ctx);
    return;
  }
  if (p.role === 'STANDBY') {
    setRole(ctx, 'STANDBY', 'peer-standby');
    return;
  }
  if (p.role === 'INIT') {
    if (winsElection(c, p)) {
      takeOver(ctx, 'election');
      return;
    }
    // The loser waits for the winner's own init-dead time, which ends at most initDeadMs after ours.
    if (ctx.now >= s.startedAt + 2 * c.initDeadMs) {
      setRole(ctx, 'STANDBY', 'peer-slow');
      return;
    }
    return;
  }
  peerNotActive(ctx, p);
}

function standbyRules(ctx: Ctx): void {
  const s = ctx.s;
  const c = s.config;
  if (!eligible(ctx)) {
    setRole(ctx, 'FAULT', 'unhealthy');
    return;
  }
  if (s.wantActiveUntil !== undefined && ctx.now >= s.wantActiveUntil) {
    s.wantActiveUntil = undefined;
    alarm(ctx, 'HANDOVER_TIMEOUT', `the ACTIVE did not yield within ${c.handoverTimeoutMs} ms`);
  }
  if (s.pending?.kind === 'fence') return;
  const p = livePeer(ctx);
  const canPreempt = c.preempt && p?.role === 'ACTIVE' && !p.flags.yield && c.priority > p.priority;
  s.preemptSince = canPreempt ? (s.preemptSince ?? ctx.now) : undefined;
  if (p === undefined) {
    deadPeerPath(ctx);
    return;
  }
  switch (p.role) {
    case 'ACTIVE':
      if (p.flags.yield) {
        takeOver(ctx, 'handover');
        return;
      }
      return;
    case 'STANDBY':
      if (winsElection(c, p)) {
        takeOver(ctx, 'election');
        return;
      }
      return;
    case 'INIT':
      takeOver(ctx, 'peer-booting');
      return;
    default:
      peerNotActive(ctx, p);
      return;
  }
}

function activeRules(ctx: Ctx): void {
  const s = ctx.s;
  const c = s.config;
  const h = s.handover;
  if (h !== undefined && ctx.now >= h.deadline) {
    alarm(
      ctx,
      'HANDOVER_TIMEOUT',
      `the peer did not take over within ${c.handoverTimeoutMs} ms (${h.purpose})`,
    );
    if (h.purpose === 'leave') {
      releaseTo(ctx, 'STOPPED', 'leave');
      return;
    }
    s.handover = undefined;
    s.handoverRetryAt = ctx.now + c.recheckMs;
  }
  const p = livePeer(ctx);
  const ho = s.handover;
  if (ho !== undefined && ho.purpose !== 'leave' && (p === undefined || p.boot !== ho.peerBoot)) {
    alarm(ctx, 'HANDOVER_ABORTED', `the peer ${p === undefined ? 'died' : 'restarted'} during the handover`);
    s.handover = undefined;
    s.handoverRetryAt = ctx.now + c.recheckMs;
  }
  if (p === undefined) {
    s.splitBrainSeen = false;
    if (s.handover?.purpose === 'leave') {
      releaseTo(ctx, 'STOPPED', 'leave');
      return;
    }
    if (c.pingNode && s.pending === undefined && (s.retryAt === undefined || ctx.now >= s.retryAt)) {
      issueCheck(ctx, 'ping', 'isolation');
    }
    return;
  }
  if (p.role === 'ACTIVE') {
    if (!winsDualActive({ nodeId: c.nodeId, priority: c.priority, epoch: s.epoch }, p)) {
      if (s.handover !== undefined) {
        releaseTo(ctx, roleAfterHandover[s.handover.purpose], 'handed-over');
        return;
      }
      alarm(ctx, 'SPLIT_BRAIN', `peer ACTIVE with epoch ${p.epoch} wins over ours ${s.epoch}: releasing`);
      releaseTo(ctx, 'STANDBY', 'split-brain');
      return;
    }
    if (!s.splitBrainSeen && !p.flags.yield) {
      s.splitBrainSeen = true;
      alarm(ctx, 'SPLIT_BRAIN', `peer ACTIVE with epoch ${p.epoch}; ours ${s.epoch} wins: announcing`);
      ctx.out.push({ type: 'announce' });
    }
    return;
  }
  s.splitBrainSeen = false;
  if (p.epoch > s.epoch) {
    const epoch = Math.max(p.epoch, s.maxEpochSeen, s.persistedEpoch) + 1;
    alarm(ctx, 'EPOCH_RAISED', `peer ${p.role} carries epoch ${p.epoch} above ours ${s.epoch}: now ${epoch}`);
    s.epoch = epoch;
    s.persistedEpoch = epoch;
    s.maxEpochSeen = epoch;
    ctx.out.push({ type: 'persist-epoch', epoch }, { type: 'announce' });
  }
  if (s.handover !== undefined || (s.handoverRetryAt !== undefined && ctx.now < s.handoverRetryAt)) return;
  const target = handoverTarget(ctx);
  if (target === undefined) return;
  if (!eligible(ctx)) startHandover(ctx, 'health');
  else if (target.flags.wantActive) startHandover(ctx, 'requested');
}

function faultRules(ctx: Ctx): void {
  const s = ctx.s;
  const c = s.config;
  if (s.isolated && !s.peerAlive && c.pingNode && s.pending === undefined) {
    if (s.retryAt === undefined || ctx.now >= s.retryAt) issueCheck(ctx, 'ping', 'isolation');
  }
  if (eligible(ctx) && !s.isolated) setRole(ctx, 'STANDBY', 'recovered');
}

const RULES: Record<Role, (ctx: Ctx) => void> = {
  OFF: nothing,
  INIT: initRules,
  STANDBY: standbyRules,
  ACTIVE: activeRules,
  MAINTENANCE: nothing,
  FAULT: faultRules,
  STOPPED: nothing,
};

function settle(ctx: Ctx): void {
  updateLinks(ctx);
  // Each pass makes at most one role change; the longest chain is INIT → STANDBY → ACTIVE → STANDBY.
  for (let pass = 0; pass < 8; pass++) {
    const before = ctx.s.role;
    RULES[before](ctx);
    if (ctx.s.role === before) return;
  }
  throw new ClusterError('CLUSTER_IMPOSSIBLE_EVENT', `rules did not settle (role ${ctx.s.role}): a core bug`);
}

// ---------------------------------------------------------------------------------------------------
// Sending

function flagsOf(s: CoreState, now: number): HeartbeatFlags {
  const c = s.config;
  const wantActive =
    s.role === 'STANDBY' &&
    ((s.wantActiveUntil !== undefined && now < s.wantActiveUntil) ||
      (s.preemptSince !== undefined && now >= s.preemptSince + c.preemptDelayMs));
  return {
    yield: s.role === 'ACTIVE' && s.handover !== undefined,
    leaving: s.role === 'STOPPED' || (s.role === 'ACTIVE' && s.handover?.purpose === 'leave'),
    wantActive,
  };
}

const sameFlags = (a: HeartbeatFlags, b: HeartbeatFlags): boolean =>
  a.yield === b.yield && a.leaving === b.leaving && a.wantActive === b.wantActive;

/** Sends when the keepalive is due, or at once when role, epoch or flags changed. */
function maybeSend(ctx: Ctx): void {
  const s = ctx.s;
  if (s.role === 'OFF') return;
  const role: WireRole = s.role;
  const flags = flagsOf(s, ctx.now);
  const last = s.lastSent;
  const changed =
    last === undefined || last.role !== role || last.epoch !== s.epoch || !sameFlags(last.flags, flags);
  if (role === 'STOPPED') {
    s.nextSendAt = undefined;
    if (!changed) return;
  } else if (!changed && s.nextSendAt !== undefined && ctx.now < s.nextSendAt) {
    return;
  } else {
    s.nextSendAt = ctx.now + s.config.keepaliveMs;
  }
  s.seq += 1;
  const hb: Heartbeat = {
    nodeId: s.config.nodeId,
    boot: s.boot,
    seq: s.seq,
    epoch: s.epoch,
    role,
    priority: s.config.priority,
    health: s.health,
    flags,
    sentAt: Math.max(0, ctx.now),
  };
  s.lastSent = { role, epoch: s.epoch, flags };
  ctx.out.push({ type: 'send', links: s.config.links, hb });
}

// ---------------------------------------------------------------------------------------------------
// The API

function kindOf(ev: ClusterEvent): EventKind {
  return ev.type === 'command' ? `command:${ev.command}` : ev.type;
}

/** Feeds one event at `now`; returns the new state and the actions to carry out in order. */
export function step(state: CoreState, event: ClusterEvent, now: number): StepResult {
  if (!Number.isFinite(now)) {
    throw new ClusterError('CLUSTER_INVALID_EVENT', `now should be a finite number, got ${now}`);
  }
  if (now < state.now) {
    throw new ClusterError('CLUSTER_TIME_BACKWARDS', `now ${now} is before the previous ${state.now}`);
  }
  const kind = kindOf(event);
  if (!KINDS.has(kind)) throw new ClusterError('CLUSTER_INVALID_EVENT', `unknown event ${String(kind)}`);
  const handler = TABLE[state.role][kind];
  if (handler === undefined) throw new ImpossibleEventError(state.role, kind, WHY[state.role]);
  const s: Ctx['s'] = { ...state, links: [...state.links] };
  const ctx: Ctx = { s, now, out: [] };
  if (state.role !== 'OFF' && now - state.now > graceMs(state.config)) s.awakeSince = now;
  s.now = now;
  handler(ctx, event);
  settle(ctx);
  maybeSend(ctx);
  if (s.role === 'STOPPED' && state.role !== 'STOPPED') ctx.out.push({ type: 'exit' });
  return { state: s, actions: ctx.out };
}

/** The one next time `step` must be called with a tick (undefined: no timer needed). */
export function nextDeadline(state: CoreState): number | undefined {
  if (state.role === 'OFF' || state.role === 'STOPPED') return undefined;
  const c = state.config;
  const now = state.now;
  const awakeAt = state.awakeSince + graceMs(c);
  const times: (number | undefined)[] = [
    state.nextSendAt,
    state.pending?.deadline,
    state.retryAt,
    state.handover?.deadline,
    state.handoverRetryAt,
    state.wantActiveUntil,
    state.preemptSince === undefined ? undefined : state.preemptSince + c.preemptDelayMs,
  ];
  if (state.role === 'INIT') times.push(state.startedAt + c.initDeadMs, state.startedAt + 2 * c.initDeadMs);
  for (const l of state.links) {
    if (!l.carrier || l.status === 'down') continue;
    // Silence is judged only once the node has been awake long enough after a stall (rule 9).
    if (l.lastHeardAt === undefined) times.push(Math.max(state.startedAt + c.initDeadMs, awakeAt));
    else {
      if (l.status === 'up') times.push(Math.max(l.lastHeardAt + c.warnMs, awakeAt));
      times.push(Math.max(l.lastHeardAt + c.deadMs, awakeAt));
    }
  }
  let best: number | undefined;
  for (const t of times) if (t !== undefined && t > now && (best === undefined || t < best)) best = t;
  return best;
}
