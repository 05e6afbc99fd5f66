/**
 * The cluster core's vocabulary: configuration, heartbeat frames, the events a shell feeds into `step`
 * and the actions it gets back. Only types live here; the rules are in core.ts.
 */

/** The heartbeat links: the serial null-modem cable and UDP on the dedicated Ethernet link. */
export type LinkName = 'serial' | 'eth';

/**
 * OFF: built by `initialState`, not yet started. INIT: started, watching for the peer until the
 * init-dead time. STANDBY: eligible to take over. ACTIVE: holds the virtual IPs. MAINTENANCE: never takes
 * over (operator). FAULT: never takes over (unhealthy, or isolated from the ping node). STOPPED: left the
 * cluster gracefully; the only role a peer sees announced on the wire that it never enters itself.
 */
export type Role = 'OFF' | 'INIT' | 'STANDBY' | 'ACTIVE' | 'MAINTENANCE' | 'FAULT' | 'STOPPED';

/** Roles a frame can carry (a node that is OFF sends nothing). */
export type WireRole = Exclude<Role, 'OFF'>;

export interface HeartbeatFlags {
  /** The sender is ACTIVE and hands over: the peer takes over at once (graceful handover). */
  yield: boolean;
  /** The sender is shutting down (graceful leave); with `yield` on an ACTIVE, without it on others. */
  leaving: boolean;
  /** The sender (a STANDBY) asks the ACTIVE to yield: manual failover from the standby, or preemption. */
  wantActive: boolean;
}

/** One heartbeat. The same frame (same seq) goes out on every link. */
export interface Heartbeat {
  /** The sender's node id (u16). */
  nodeId: number;
  /** The sender's boot counter, persisted and incremented at every start (u32). */
  boot: number;
  /** Per-boot frame counter, from 1 (u48). */
  seq: number;
  /** The sender's epoch, the fencing token: its own when ACTIVE, the highest it knows otherwise (u32). */
  epoch: number;
  role: WireRole;
  /** 1..255; higher wins an election. */
  priority: number;
  /** Health score 0..100. */
  health: number;
  flags: HeartbeatFlags;
  /** The sender's monotonic milliseconds when it built the frame (informational: clocks are not shared). */
  sentAt: number;
}

/** What an operator, a config file or a test may set; `resolveConfig` fills in the defaults. */
export interface ClusterConfigInput {
  nodeId: number;
  priority?: number;
  keepaliveMs?: number;
  warnMs?: number;
  deadMs?: number;
  initDeadMs?: number;
  preempt?: boolean;
  preemptDelayMs?: number;
  links?: readonly LinkName[];
  minHealth?: number;
  pingNode?: boolean;
  fence?: boolean;
  handoverTimeoutMs?: number;
  checkTimeoutMs?: number;
  recheckMs?: number;
}

export interface ClusterConfig {
  /** This node's id, 0..65535; the two nodes must differ. */
  nodeId: number;
  /** 1..255; higher wins elections (ties: lower node id). */
  priority: number;
  /** Interval between heartbeats. */
  keepaliveMs: number;
  /** A link silent this long raises LINK_WARN. */
  warnMs: number;
  /** A link silent this long is down; the peer is dead when every link is. */
  deadMs: number;
  /** After start, how long a node waits for the peer before deciding alone. */
  initDeadMs: number;
  /** A higher-priority standby takes the ACTIVE role back from a lower-priority active. */
  preempt: boolean;
  /** How long the active must have been seen stable before a preempting standby asks for the role. */
  preemptDelayMs: number;
  /** The links this node has, in the order frames are sent. */
  links: readonly LinkName[];
  /** Health below this makes an ACTIVE hand over and a STANDBY go FAULT. */
  minHealth: number;
  /** A gateway/ping node is configured: used to tell "the peer is dead" from "I am isolated". */
  pingNode: boolean;
  /** The board has a fence line to the peer; it is pulled before taking over from a silent peer. */
  fence: boolean;
  /** How long a yielding ACTIVE waits for the peer to take over before aborting the handover. */
  handoverTimeoutMs: number;
  /** How long the core waits for a ping-check or fence-peer result before treating it as failed. */
  checkTimeoutMs: number;
  /** After a failed or negative check (isolated, fence failed), how long before trying again. */
  recheckMs: number;
}

/** Operator commands. */
export type Command = 'failover' | 'maintenance-on' | 'maintenance-off' | 'leave';

export type ClusterEvent =
  | { type: 'start' }
  /** A deadline from `nextDeadline` passed (an early or spurious tick is harmless). */
  | { type: 'tick' }
  /** A decoded, authenticated heartbeat that arrived on `link`. */
  | { type: 'frame'; link: LinkName; hb: Heartbeat }
  /** The node's own health score, 0..100 (links, services). */
  | { type: 'health'; score: number }
  | { type: 'command'; command: Command }
  /** The answer to the `ping-check` action with the same id. */
  | { type: 'ping-result'; id: number; reachable: boolean }
  /** The answer to the `fence-peer` action with the same id. */
  | { type: 'fence-result'; id: number; ok: boolean }
  /** A NIC carrying `link` lost or regained carrier (fast path; optional). */
  | { type: 'carrier'; link: LinkName; up: boolean };

export type EventType = ClusterEvent['type'];

export type AlarmCode =
  | 'LINK_WARN' // a link has been silent for warnMs
  | 'LINK_DOWN' // a link has been silent for deadMs (or lost carrier) while another may still work
  | 'LINK_UP' // a link that was warned or down carries frames again
  | 'PEER_DEAD' // every link is down
  | 'PEER_BACK' // a frame arrived after PEER_DEAD or PEER_LEFT
  | 'PEER_LEFT' // the peer announced a graceful leave
  | 'PEER_RESTARTED' // the peer's boot counter went up
  | 'SPLIT_BRAIN' // both nodes were ACTIVE
  | 'ISOLATED' // every link is down and the ping node does not answer
  | 'FENCE_FAILED' // fencing the peer failed or timed out: no takeover
  | 'CHECK_TIMEOUT' // a ping-check got no answer within checkTimeoutMs
  | 'HANDOVER_TIMEOUT' // the peer did not take over within handoverTimeoutMs
  | 'HANDOVER_ABORTED' // the peer restarted or died during a handover; the VIPs stay
  | 'EPOCH_RAISED' // the ACTIVE met a higher epoch on a non-active peer and took a newer one
  | 'NODE_ID_CONFLICT'; // a frame carried this node's own id

export type TransitionReason =
  | 'start'
  | 'peer-active'
  | 'peer-standby'
  | 'peer-slow'
  | 'election'
  | 'peer-booting'
  | 'peer-ineligible'
  | 'peer-left'
  | 'peer-dead'
  | 'peer-fenced'
  | 'handover'
  | 'handed-over'
  | 'split-brain'
  | 'isolated'
  | 'unhealthy'
  | 'recovered'
  | 'maintenance'
  | 'leave';

export type ClusterAction =
  /** Broadcast `hb` on `links` (the same frame on each). */
  | { type: 'send'; links: readonly LinkName[]; hb: Heartbeat }
  /** Make `epoch` durable; the shell must not run a following `acquire` before it is. */
  | { type: 'persist-epoch'; epoch: number }
  /** Bring the virtual IPs up and send a gratuitous-ARP burst. */
  | { type: 'acquire'; epoch: number }
  /** Take the virtual IPs down. */
  | { type: 'release' }
  /** Re-send the gratuitous-ARP burst (the winner after a split brain, or after raising the epoch). */
  | { type: 'announce' }
  /** Ask whether the ping node answers; reply with a `ping-result` event carrying `id` within checkTimeoutMs. */
  | { type: 'ping-check'; id: number }
  /**
   * Pull the peer's fence line; reply with a `fence-result` event carrying `id`. The core gives up after
   * checkTimeoutMs: the shell must not pull the line after that (abort the attempt instead), since a late
   * fence would kill a peer the core may already have accepted again.
   */
  | { type: 'fence-peer'; id: number }
  | { type: 'alarm'; code: AlarmCode; link?: LinkName; detail: string }
  /** A role change, for the journal. */
  | { type: 'transition'; from: Role; to: Role; reason: TransitionReason }
  /** Graceful leave finished: the shell stops the service. */
  | { type: 'exit' };

export type LinkStatus = 'unknown' | 'up' | 'warn' | 'down';

export interface LinkState {
  readonly name: LinkName;
  readonly status: LinkStatus;
  /** False after a `carrier` event said the NIC lost carrier. */
  readonly carrier: boolean;
  /** When the last accepted frame arrived on this link (this node's clock). */
  readonly lastHeardAt: number | undefined;
  /** Boot and seq of the last accepted frame on this link (replay detection). */
  readonly boot: number | undefined;
  readonly lastSeq: number;
}

/** The newest facts about the peer (from the frame with the highest boot, then seq). */
export interface PeerView {
  readonly nodeId: number;
  readonly boot: number;
  readonly seq: number;
  readonly epoch: number;
  readonly role: WireRole;
  readonly priority: number;
  readonly health: number;
  readonly flags: Readonly<HeartbeatFlags>;
  readonly heardAt: number;
}

export type CheckPurpose = 'takeover' | 'isolation';

export interface PendingCheck {
  readonly kind: 'ping' | 'fence';
  readonly id: number;
  readonly purpose: CheckPurpose;
  readonly deadline: number;
}

export type HandoverPurpose = 'failover' | 'maintenance' | 'health' | 'requested' | 'leave';

export interface Handover {
  readonly purpose: HandoverPurpose;
  readonly deadline: number;
  /** The boot of the peer it was offered to: a restarted peer (replica not yet in sync) is not taken. */
  readonly peerBoot: number | undefined;
}

export interface DropCounters {
  /** Seq not above the last one accepted on that link (duplicate or replay). */
  readonly replayed: number;
  /** From an older boot of the peer than one already seen. */
  readonly stale: number;
  /** Carrying this node's own id. */
  readonly ownId: number;
  /** A check result whose id is not the one pending (it timed out, or the check was abandoned). */
  readonly lateResults: number;
}

/** The whole state of one node's core. Treat as immutable: `step` returns a new one. */
export interface CoreState {
  readonly config: ClusterConfig;
  readonly role: Role;
  readonly boot: number;
  /** This node's epoch: its fencing token when ACTIVE, the highest known otherwise. */
  readonly epoch: number;
  /** The highest epoch this node has asked to persist (or restored at boot). */
  readonly persistedEpoch: number;
  readonly health: number;
  readonly seq: number;
  /** The last `now` seen by `step` (or `initialState`). */
  readonly now: number;
  readonly startedAt: number;
  /** When the node resumed after a stall (see rule 9); -Infinity when it never stalled. */
  readonly awakeSince: number;
  readonly nextSendAt: number | undefined;
  /** What the last frame said, to send at once when role, epoch or flags change. */
  readonly lastSent: { role: WireRole; epoch: number; flags: HeartbeatFlags } | undefined;
  readonly links: readonly LinkState[];
  readonly peer: PeerView | undefined;
  /** Result of the last evaluation: some link is alive. */
  readonly peerAlive: boolean;
  /** The peer announced a graceful leave (its silence is no alarm). */
  readonly peerLeft: boolean;
  readonly maxEpochSeen: number;
  readonly pending: PendingCheck | undefined;
  readonly lastCheckId: number;
  /** The dead-peer path (ping, fence, isolation re-check) may run again from this time. */
  readonly retryAt: number | undefined;
  /** The last ping said the ping node is unreachable and the peer has not been heard since. */
  readonly isolated: boolean;
  readonly handover: Handover | undefined;
  /** An automatic handover (health, requested) may start again from this time. */
  readonly handoverRetryAt: number | undefined;
  /** Manual failover asked on the STANDBY: ask the active to yield until this time. */
  readonly wantActiveUntil: number | undefined;
  /** Since when a preemption would be allowed (peer stably ACTIVE with a lower priority). */
  readonly preemptSince: number | undefined;
  /** The ACTIVE already announced for the current two-actives meeting. */
  readonly splitBrainSeen: boolean;
  readonly drops: DropCounters;
}

export interface StepResult {
  readonly state: CoreState;
  readonly actions: readonly ClusterAction[];
}
