import type { Frame } from './codec.ts';
import { agreementPoint, epochAt, recordAt, topEpoch } from './history.ts';
import type { Refusal } from './session.ts';
import type { Entry, EpochRecord, ReplicationRole } from './types.ts';

/**
 * The replication protocol between the two journals, as a pure function:
 * `step(state, event, now) → { state, actions }` and `nextDeadline(state)`. No I/O, clock or randomness:
 * the service shell (service.ts) feeds it events and carries out its actions; a test feeds it a simulated
 * network. `now` is monotonic ms and must never go backwards.
 *
 * Rules:
 * - A connection is usable once both ends have exchanged HELLO (done by the shell's Session) and STATUS.
 *   The newest connection that completes STATUS replaces an older one.
 * - From the two STATUS frames both ends compute the same relation. Two leaders (a healed split brain):
 *   the higher lead epoch wins (tie: the smaller node id) and the loser steps down. A lone leader whose
 *   epoch is below the follower's known epoch is fenced and steps down. A follower never follows a
 *   leader whose epoch is older than one it has seen.
 * - The source (leader) ships its log from the follower's head when the two logs agree and the entries
 *   are still in its log and not too many; otherwise it sends a snapshot, and the follower's entries after
 *   the agreement point go to its conflict table first.
 * - Entries flow go-back-N: at most `windowEntries` unacknowledged, gaps make the follower repeat its head
 *   (`gap`), silence past `rtoMs` resends from the acknowledged head. An ACK means durably applied; the
 *   keepalive is a STATUS, which also acknowledges. TCP loses nothing, but a refused frame is a hole.
 *   An acknowledgement names the (epoch, leader) of the entry at its seq; one for an entry this log does
 *   not hold there (a divergent log awaiting its snapshot) acknowledges nothing.
 * - A handshake without STATUS, a silent peer, or a snapshot transfer that stalls for `deadAfterMs` closes
 *   the connection; the dialler reconnects and the handshake decides again.
 * - A config commit waits for the ACK of its seq (`awaitAck`) when a follower is attached; otherwise, or
 *   after `ackTimeoutMs`, it completes degraded and raises an alarm.
 */
export interface CoreConfig {
  self: string;
  /** The one peer allowed to connect. */
  peer: string;
  windowEntries: number;
  batchEntries: number;
  pingEveryMs: number;
  deadAfterMs: number;
  rtoMs: number;
  ackTimeoutMs: number;
  /** A follower further behind than this gets a snapshot instead of the log. */
  resyncLagEntries: number;
  snapshotTimeoutMs: number;
}

export const DEFAULT_TIMING: Omit<CoreConfig, 'self' | 'peer'> = {
  windowEntries: 20_000,
  batchEntries: 500,
  pingEveryMs: 250,
  deadAfterMs: 2_000,
  rtoMs: 500,
  ackTimeoutMs: 2_000,
  resyncLagEntries: 500_000,
  snapshotTimeoutMs: 120_000,
};

export type Relation = 'none' | 'source' | 'follow';
export type CommitOutcome = 'acked' | 'timeout' | 'peer-down' | 'not-leader';
export type AlarmCode =
  | 'peer-ack-timeout'
  | 'peer-refused'
  | 'split-brain'
  | 'fenced'
  | 'conflicts'
  | 'snapshot-failed'
  | 'apply-failed'
  | 'protocol'
  | 'io';

interface PeerStatus {
  role: ReplicationRole;
  epoch: number;
  head: number;
  floor: number;
  recovering: boolean;
  history: EpochRecord[];
}

interface Conn {
  id: number;
  peer: string | null;
  status: PeerStatus | null;
  openedAt: number;
  lastRecvAt: number;
  lastSendAt: number;
}

interface Receiving {
  seq: number;
  size: number;
  received: number;
  installing: boolean;
  /** When the last snapshot frame arrived: a transfer that stalls is abandoned. */
  lastAt: number;
}

type Link =
  | { kind: 'none' }
  | { kind: 'log'; acked: number; nextSend: number; progressAt: number }
  | { kind: 'snapshot'; acked: number; sentSeq: number | null; startedAt: number }
  | { kind: 'follow'; gapAckedAt: number | null; recv: Receiving | null };

interface Wait {
  id: number;
  seq: number;
  deadline: number;
}

export interface Counters {
  /** Frames refused, by reason (decode and session refusals plus protocol-level ones). */
  refused: Record<string, number>;
  framesIn: number;
  entriesShipped: number;
  entriesApplied: number;
  retransmits: number;
  snapshotsSent: number;
  snapshotsInstalled: number;
  connections: number;
  stepDowns: number;
}

export interface CoreState {
  readonly cfg: CoreConfig;
  readonly now: number;
  readonly role: ReplicationRole;
  /** The newest epoch this node has seen (fencing): never decreases. */
  readonly epoch: number;
  readonly head: number;
  readonly floor: number;
  readonly history: readonly EpochRecord[];
  readonly recovering: boolean;
  readonly conns: readonly Readonly<Conn>[];
  readonly active: number | null;
  readonly link: Readonly<Link>;
  readonly waits: readonly Wait[];
  readonly counters: Readonly<Counters>;
}

export type Event =
  | { type: 'connected'; conn: number }
  | { type: 'disconnected'; conn: number }
  | { type: 'frame'; conn: number; frame: Frame }
  | { type: 'refused'; conn: number; refusal: Refusal }
  | { type: 'tick' }
  /** Leader: local entries committed; head and history after them. */
  | { type: 'appended'; head: number; history: readonly EpochRecord[] }
  /** Follower: entries durably applied up to head (or failed, with the store's real position). */
  | { type: 'applied'; head: number }
  | { type: 'applyFailed'; head: number; history: readonly EpochRecord[]; reason: string }
  /** The shell wrote this node's journal.epoch entry. */
  | { type: 'promoted'; head: number; history: readonly EpochRecord[] }
  | { type: 'demoted' }
  | { type: 'awaitAck'; id: number; seq: number }
  | { type: 'snapshotSent'; conn: number; seq: number }
  | { type: 'snapshotFailed'; conn: number; reason: string }
  | {
      type: 'snapshotInstalled';
      head: number;
      floor: number;
      history: readonly EpochRecord[];
      conflicts: number;
    }
  | { type: 'truncated'; floor: number };

export type Action =
  | { type: 'send'; conn: number; frame: Frame }
  /** Send entries from..to as one or more entries frames (the shell reads them from the store). */
  | { type: 'ship'; conn: number; from: number; to: number; prevSeq: number; prevEpoch: number }
  | { type: 'close'; conn: number; reason: string }
  | { type: 'apply'; entries: Entry[] }
  | { type: 'sendSnapshot'; conn: number; conflictsAfter: number }
  | {
      type: 'snapshotBegin';
      seq: number;
      size: number;
      sha256: string;
      conflictsAfter: number;
      leader: string;
      epoch: number;
    }
  | { type: 'snapshotChunk'; offset: number; data: Buffer }
  | { type: 'snapshotInstall'; conn: number }
  | { type: 'snapshotAbort' }
  | { type: 'commitDone'; id: number; outcome: CommitOutcome }
  | { type: 'stepDown'; reason: 'split-brain' | 'fenced'; winner: string; epoch: number }
  | { type: 'persistEpoch'; epoch: number }
  | { type: 'relation'; relation: Relation; peer: string | null }
  | { type: 'alarm'; code: AlarmCode; detail: string };

export function initialState(
  cfg: CoreConfig,
  log: {
    role?: ReplicationRole;
    epoch: number;
    head: number;
    floor: number;
    history: readonly EpochRecord[];
    recovering: boolean;
  },
  now: number,
): CoreState {
  return {
    cfg,
    now,
    role: log.role ?? 'follower',
    epoch: Math.max(log.epoch, topEpoch(log.history)),
    head: log.head,
    floor: log.floor,
    history: [...log.history],
    recovering: log.recovering,
    conns: [],
    active: null,
    link: { kind: 'none' },
    waits: [],
    counters: {
      refused: {},
      framesIn: 0,
      entriesShipped: 0,
      entriesApplied: 0,
      retransmits: 0,
      snapshotsSent: 0,
      snapshotsInstalled: 0,
      connections: 0,
      stepDowns: 0,
    },
  };
}

/** Why a promotion to `epoch` is refused, or undefined when it may go ahead. */
export function promotionBlocker(state: CoreState, epoch: number, force = false): string | undefined {
  if (!Number.isSafeInteger(epoch) || epoch < 1 || epoch > 0xffff_ffff)
    return `epoch ${epoch} is not 1..2^32-1`;
  if (epoch <= state.epoch) return `epoch ${epoch} is not newer than epoch ${state.epoch}, already seen`;
  if (state.recovering && !force) return 'this node restored from a snapshot or started empty';
  return undefined;
}

/** The relation over the active connection, for status displays. */
export function relationOf(state: CoreState): Relation {
  const k = state.link.kind;
  return k === 'none' ? 'none' : k === 'follow' ? 'follow' : 'source';
}

/** How many entries the follower has not acknowledged (leader side), or undefined without a follower. */
export function lagOf(state: CoreState): number | undefined {
  const l = state.link;
  return l.kind === 'log' || l.kind === 'snapshot' ? state.head - l.acked : undefined;
}

export function nextDeadline(state: CoreState): number | undefined {
  const { cfg } = state;
  let best: number | undefined;
  const consider = (t: number): void => {
    if (best === undefined || t < best) best = t;
  };
  for (const c of state.conns) {
    consider(c.lastRecvAt + cfg.deadAfterMs);
    if (c.status === null) consider(c.openedAt + cfg.deadAfterMs);
    if (c.id === state.active) consider(c.lastSendAt + cfg.pingEveryMs);
  }
  const l = state.link;
  if (l.kind === 'follow' && l.recv && !l.recv.installing) consider(l.recv.lastAt + cfg.deadAfterMs);
  if (l.kind === 'log' && l.acked < l.nextSend - 1) consider(l.progressAt + cfg.rtoMs);
  if (l.kind === 'snapshot') consider(l.startedAt + cfg.snapshotTimeoutMs);
  for (const w of state.waits) consider(w.deadline);
  return best;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Draft = Mutable<Omit<CoreState, 'conns' | 'counters' | 'link' | 'waits'>> & {
  conns: Conn[];
  counters: Counters;
  link: Link;
  waits: Wait[];
};

export function step(state: CoreState, event: Event, now: number): { state: CoreState; actions: Action[] } {
  if (now < state.now) throw new RangeError(`time went backwards: ${now} < ${state.now}`);
  const s: Draft = {
    ...state,
    now,
    conns: state.conns.map((c) => ({ ...c })),
    counters: { ...state.counters, refused: { ...state.counters.refused } },
    link: { ...state.link } as Link,
    waits: [...state.waits],
    history: state.history,
  };
  if (s.link.kind === 'follow' && s.link.recv) s.link.recv = { ...s.link.recv };
  const out: Action[] = [];
  handle(s, event, out);
  return { state: s, actions: out };
}

function handle(s: Draft, ev: Event, out: Action[]): void {
  switch (ev.type) {
    case 'connected':
      s.conns.push({
        id: ev.conn,
        peer: null,
        status: null,
        openedAt: s.now,
        lastRecvAt: s.now,
        lastSendAt: s.now,
      });
      s.counters.connections++;
      return;
    case 'disconnected':
      dropConn(s, ev.conn, out);
      return;
    case 'refused': {
      count(s, ev.refusal.reason);
      if (ev.refusal.fatal) closeConn(s, ev.conn, `refused: ${ev.refusal.reason}`, out);
      return;
    }
    case 'frame':
      onFrame(s, ev.conn, ev.frame, out);
      return;
    case 'tick':
      onTick(s, out);
      return;
    case 'appended':
      s.head = ev.head;
      s.history = [...ev.history];
      ship(s, out);
      return;
    case 'applied':
      s.head = Math.max(s.head, ev.head);
      if (s.link.kind === 'follow' && s.active !== null) send(s, s.active, ack(s, false), out);
      return;
    case 'applyFailed':
      s.head = ev.head;
      s.history = [...ev.history];
      out.push({ type: 'alarm', code: 'apply-failed', detail: ev.reason });
      if (s.active !== null) closeConn(s, s.active, `apply failed: ${ev.reason}`, out);
      return;
    case 'promoted':
      s.role = 'leader';
      s.recovering = false;
      s.head = ev.head;
      s.history = [...ev.history];
      s.epoch = Math.max(s.epoch, topEpoch(s.history));
      roleChanged(s, out);
      return;
    case 'demoted':
      if (s.role === 'follower') return;
      s.role = 'follower';
      roleChanged(s, out);
      return;
    case 'awaitAck':
      onAwait(s, ev.id, ev.seq, out);
      return;
    case 'snapshotSent':
      if (s.link.kind === 'snapshot' && ev.conn === s.active) {
        s.link.sentSeq = ev.seq;
        s.counters.snapshotsSent++;
      }
      return;
    case 'snapshotFailed':
      out.push({ type: 'alarm', code: 'snapshot-failed', detail: ev.reason });
      if (s.link.kind === 'follow') s.link.recv = null;
      closeConn(s, ev.conn, `snapshot failed: ${ev.reason}`, out);
      return;
    case 'snapshotInstalled':
      s.head = ev.head;
      s.floor = ev.floor;
      s.history = [...ev.history];
      s.recovering = false;
      s.counters.snapshotsInstalled++;
      adoptEpoch(s, topEpoch(s.history), out);
      if (ev.conflicts > 0) {
        out.push({
          type: 'alarm',
          code: 'conflicts',
          detail: `${ev.conflicts} divergent entries kept in the conflict table`,
        });
      }
      if (s.link.kind === 'follow') {
        s.link.recv = null;
        if (s.active !== null) send(s, s.active, ack(s, false), out);
      }
      return;
    case 'truncated':
      s.floor = Math.max(s.floor, ev.floor);
      return;
  }
}

function count(s: Draft, reason: string): void {
  s.counters.refused[reason] = (s.counters.refused[reason] ?? 0) + 1;
}

function conn(s: Draft, id: number): Conn | undefined {
  return s.conns.find((c) => c.id === id);
}

function send(s: Draft, id: number, frame: Frame, out: Action[]): void {
  const c = conn(s, id);
  if (c === undefined) return;
  c.lastSendAt = s.now;
  out.push({ type: 'send', conn: id, frame });
}

function statusFrame(s: Draft): Frame {
  return {
    type: 'status',
    epoch: s.epoch,
    seq: s.head,
    role: s.role,
    floor: s.floor,
    recovering: s.recovering,
    history: [...s.history],
  };
}

function ack(s: Draft, gap: boolean): Frame {
  const r = recordAt(s.history, s.head);
  return {
    type: 'ack',
    epoch: s.epoch,
    seq: s.head,
    gap,
    headEpoch: r?.epoch ?? 0,
    headLeader: r?.leader ?? '',
  };
}

/** True when the entry at `seq` in this log was written by the same (epoch, leader) as the peer's. */
function sameEntryAt(s: Draft, seq: number, epoch: number, leader: string): boolean {
  const r = recordAt(s.history, seq);
  return r === undefined ? seq === 0 : r.epoch === epoch && r.leader === leader;
}

function setLink(s: Draft, link: Link, out: Action[]): void {
  const before = s.link.kind;
  s.link = link;
  const rel = (k: Link['kind']): Relation => (k === 'none' ? 'none' : k === 'follow' ? 'follow' : 'source');
  if (rel(before) !== rel(link.kind)) {
    const peer = s.active === null ? null : (conn(s, s.active)?.peer ?? null);
    out.push({ type: 'relation', relation: rel(link.kind), peer });
  }
}

/** Forgets a connection the shell reports gone. */
function dropConn(s: Draft, id: number, out: Action[]): void {
  const i = s.conns.findIndex((c) => c.id === id);
  if (i < 0) return;
  s.conns.splice(i, 1);
  if (s.active !== id) return;
  s.active = null;
  if (s.link.kind === 'follow' && s.link.recv) out.push({ type: 'snapshotAbort' });
  setLink(s, { kind: 'none' }, out);
  for (const w of s.waits.splice(0)) out.push({ type: 'commitDone', id: w.id, outcome: 'peer-down' });
}

function closeConn(s: Draft, id: number, reason: string, out: Action[]): void {
  if (conn(s, id) === undefined) return;
  out.push({ type: 'close', conn: id, reason });
  dropConn(s, id, out);
}

function adoptEpoch(s: Draft, epoch: number, out: Action[]): void {
  if (epoch <= s.epoch) return;
  s.epoch = epoch;
  out.push({ type: 'persistEpoch', epoch });
}

function onFrame(s: Draft, id: number, f: Frame, out: Action[]): void {
  const c = conn(s, id);
  if (c === undefined) return;
  c.lastRecvAt = s.now;
  s.counters.framesIn++;
  if (f.type === 'hello') {
    if (f.node === s.cfg.self) {
      count(s, 'reflected');
      closeConn(s, id, 'peer claims to be this node', out);
    } else if (f.node !== s.cfg.peer) {
      count(s, 'unknown-node');
      closeConn(s, id, `unknown node ${f.node}`, out);
    } else {
      c.peer = f.node;
      send(s, id, statusFrame(s), out);
    }
    return;
  }
  if (c.peer === null) {
    count(s, 'no-hello');
    closeConn(s, id, `${f.type} before HELLO`, out);
    return;
  }
  if (f.type === 'status') {
    c.status = {
      role: f.role,
      epoch: f.epoch,
      head: f.seq,
      floor: f.floor,
      recovering: f.recovering,
      history: f.history,
    };
    if (s.active !== id) {
      const old = s.active;
      if (old !== null) closeConn(s, old, 'replaced by a newer connection', out);
      s.active = id;
    }
    evaluate(s, out);
    return;
  }
  if (id !== s.active) {
    // STATUS always precedes other frames on a connection; without it the two ends disagree: start over.
    count(s, 'not-active');
    closeConn(s, id, `${f.type} before STATUS`, out);
    return;
  }
  switch (f.type) {
    case 'ping':
      return;
    case 'refuse':
      count(s, 'peer-refusal');
      out.push({ type: 'alarm', code: 'peer-refused', detail: f.reason });
      return;
    case 'ack':
      onAck(s, f, out);
      return;
    case 'entries':
      onEntries(s, f, out);
      return;
    case 'snapBegin':
    case 'snapChunk':
    case 'snapEnd':
      onSnapshotFrame(s, f, out);
      return;
  }
}

/** The connection's relation, from both ends' STATUS; see the rules at the top. */
function evaluate(s: Draft, out: Action[]): void {
  const c = s.active === null ? undefined : conn(s, s.active);
  const peer = c?.status;
  if (c === undefined || peer === null || peer === undefined) return;
  const myLead = topEpoch(s.history);
  const peerLead = topEpoch(peer.history);
  if (s.role === 'leader' && peer.role === 'leader') {
    const iWin = myLead > peerLead || (myLead === peerLead && s.cfg.self < s.cfg.peer);
    if (iWin) {
      setLink(s, { kind: 'none' }, out);
      return;
    }
    stepDown(s, 'split-brain', c.peer ?? s.cfg.peer, peerLead, out);
  } else if (s.role === 'leader' && peer.epoch > myLead) {
    stepDown(s, 'fenced', c.peer ?? s.cfg.peer, peer.epoch, out);
  }
  if (s.role === 'leader' && peer.role === 'follower') {
    // A repeated STATUS (keepalive) from the follower we already feed is an acknowledgement of its head.
    if (s.link.kind === 'log' || s.link.kind === 'snapshot') {
      const r = recordAt(peer.history, peer.head);
      acknowledge(s, peer.head, r?.epoch ?? 0, r?.leader ?? '', false, out);
    } else plan(s, peer, out);
  } else if (s.role === 'follower' && peer.role === 'leader') {
    if (peerLead < s.epoch) {
      count(s, 'stale-epoch');
      send(
        s,
        c.id,
        { type: 'refuse', epoch: s.epoch, seq: 0, reason: `epoch ${peerLead} < ${s.epoch}` },
        out,
      );
      setLink(s, { kind: 'none' }, out);
      return;
    }
    adoptEpoch(s, peerLead, out);
    if (s.link.kind !== 'follow') setLink(s, { kind: 'follow', gapAckedAt: null, recv: null }, out);
  } else {
    setLink(s, { kind: 'none' }, out);
  }
}

function stepDown(
  s: Draft,
  reason: 'split-brain' | 'fenced',
  winner: string,
  epoch: number,
  out: Action[],
): void {
  s.role = 'follower';
  s.counters.stepDowns++;
  out.push({ type: 'stepDown', reason, winner, epoch });
  out.push({
    type: 'alarm',
    code: reason,
    detail: `stepped down: ${winner} leads with epoch ${epoch} (ours ${topEpoch(s.history)})`,
  });
  adoptEpoch(s, epoch, out);
  for (const w of s.waits.splice(0)) out.push({ type: 'commitDone', id: w.id, outcome: 'not-leader' });
  if (s.active !== null) send(s, s.active, statusFrame(s), out);
}

function roleChanged(s: Draft, out: Action[]): void {
  if (s.role === 'follower') {
    for (const w of s.waits.splice(0)) out.push({ type: 'commitDone', id: w.id, outcome: 'not-leader' });
  }
  setLink(s, { kind: 'none' }, out);
  for (const c of s.conns) if (c.peer !== null) send(s, c.id, statusFrame(s), out);
  evaluate(s, out);
}

/** Leader: decide how the follower catches up. */
function plan(s: Draft, peer: PeerStatus, out: Action[]): void {
  const match = agreementPoint({ head: s.head, history: s.history }, peer);
  const needSnapshot =
    peer.recovering ||
    match < peer.head ||
    peer.head > s.head ||
    peer.head + 1 < s.floor ||
    s.head - peer.head > s.cfg.resyncLagEntries;
  if (needSnapshot) {
    startSnapshot(s, match, out);
    return;
  }
  setLink(s, { kind: 'log', acked: peer.head, nextSend: peer.head + 1, progressAt: s.now }, out);
  ship(s, out);
}

function startSnapshot(s: Draft, conflictsAfter: number, out: Action[]): void {
  if (s.active === null) return;
  const acked = s.link.kind === 'log' ? s.link.acked : 0;
  setLink(s, { kind: 'snapshot', acked, sentSeq: null, startedAt: s.now }, out);
  out.push({ type: 'sendSnapshot', conn: s.active, conflictsAfter });
  const c = conn(s, s.active);
  if (c) c.lastSendAt = s.now;
}

function ship(s: Draft, out: Action[]): void {
  const l = s.link;
  if (l.kind !== 'log' || s.active === null) return;
  const { windowEntries, batchEntries } = s.cfg;
  if (l.acked >= l.nextSend - 1) l.progressAt = s.now;
  while (l.nextSend <= s.head && l.nextSend - 1 - l.acked < windowEntries) {
    if (l.nextSend < s.floor) {
      startSnapshot(s, l.acked, out);
      return;
    }
    const to = Math.min(s.head, l.nextSend + batchEntries - 1, l.acked + windowEntries);
    out.push({
      type: 'ship',
      conn: s.active,
      from: l.nextSend,
      to,
      prevSeq: l.nextSend - 1,
      prevEpoch: epochAt(s.history, l.nextSend - 1),
    });
    s.counters.entriesShipped += to - l.nextSend + 1;
    l.nextSend = to + 1;
    const c = conn(s, s.active);
    if (c) c.lastSendAt = s.now;
  }
}

function onAck(s: Draft, f: Extract<Frame, { type: 'ack' }>, out: Action[]): void {
  acknowledge(s, f.seq, f.headEpoch, f.headLeader, f.gap, out);
}

/**
 * The follower durably holds everything up to `seq` (an ACK, or the head in its STATUS), where its entry
 * was written by (epoch, leader). An acknowledgement of an entry this log does not have at that seq
 * (a divergent log not yet replaced by the snapshot) acknowledges nothing.
 */
function acknowledge(
  s: Draft,
  seq: number,
  epoch: number,
  leader: string,
  gap: boolean,
  out: Action[],
): void {
  const l = s.link;
  if (l.kind !== 'log' && l.kind !== 'snapshot') return;
  if (seq > s.head || !sameEntryAt(s, seq, epoch, leader)) {
    count(s, 'foreign-ack');
    return;
  }
  if (l.kind === 'snapshot') {
    if (l.sentSeq === null || seq < l.sentSeq) return;
    setLink(s, { kind: 'log', acked: seq, nextSend: seq + 1, progressAt: s.now }, out);
  } else {
    if (seq > l.acked) {
      l.acked = seq;
      l.progressAt = s.now;
    }
    if (gap && seq >= l.acked && seq + 1 < l.nextSend) {
      l.nextSend = seq + 1;
      s.counters.retransmits++;
    }
  }
  settleWaits(s, out);
  ship(s, out);
}

function settleWaits(s: Draft, out: Action[]): void {
  const l = s.link;
  const acked = l.kind === 'log' ? l.acked : -1;
  s.waits = s.waits.filter((w) => {
    if (w.seq > acked) return true;
    out.push({ type: 'commitDone', id: w.id, outcome: 'acked' });
    return false;
  });
}

function onAwait(s: Draft, id: number, seq: number, out: Action[]): void {
  if (s.role !== 'leader') {
    out.push({ type: 'commitDone', id, outcome: 'not-leader' });
    return;
  }
  const l = s.link;
  if (l.kind !== 'log' && l.kind !== 'snapshot') {
    out.push({ type: 'commitDone', id, outcome: 'peer-down' });
    return;
  }
  if (l.kind === 'log' && l.acked >= seq) {
    out.push({ type: 'commitDone', id, outcome: 'acked' });
    return;
  }
  s.waits.push({ id, seq, deadline: s.now + s.cfg.ackTimeoutMs });
}

function onEntries(s: Draft, f: Extract<Frame, { type: 'entries' }>, out: Action[]): void {
  const l = s.link;
  if (l.kind !== 'follow' || s.active === null) {
    count(s, 'unexpected');
    return;
  }
  if (f.epoch < s.epoch) {
    count(s, 'stale-epoch');
    return;
  }
  if (l.recv) {
    count(s, 'unexpected');
    return;
  }
  if (f.prevSeq > s.head) {
    if (l.gapAckedAt !== s.head) {
      l.gapAckedAt = s.head;
      send(s, s.active, ack(s, true), out);
    }
    return;
  }
  const fresh = f.entries.filter((e) => e.seq > s.head);
  if (fresh.length === 0) {
    send(s, s.active, ack(s, false), out);
    return;
  }
  const prevSeq = s.head;
  const problem =
    f.prevSeq === prevSeq && prevSeq > 0 && f.prevEpoch !== epochAt(s.history, prevSeq)
      ? `entries continue epoch ${f.prevEpoch} at ${prevSeq}, this log has epoch ${epochAt(s.history, prevSeq)}`
      : fresh.some((e, i) => e.seq !== prevSeq + 1 + i || e.epoch > f.epoch)
        ? 'entries are not contiguous or carry an epoch newer than their frame'
        : undefined;
  if (problem !== undefined) {
    count(s, 'protocol');
    out.push({ type: 'alarm', code: 'protocol', detail: problem });
    closeConn(s, s.active, problem, out);
    return;
  }
  let history = s.history;
  for (const e of fresh) {
    if (e.kind === 'journal.epoch')
      history = [...history, { epoch: e.epoch, leader: e.value.leader, startSeq: e.seq }];
  }
  s.history = history;
  s.head = fresh[fresh.length - 1]?.seq ?? s.head;
  s.counters.entriesApplied += fresh.length;
  l.gapAckedAt = null;
  out.push({ type: 'apply', entries: fresh });
}

function onSnapshotFrame(
  s: Draft,
  f: Extract<Frame, { type: 'snapBegin' | 'snapChunk' | 'snapEnd' }>,
  out: Action[],
): void {
  const l = s.link;
  if (s.active === null) return;
  if (l.kind !== 'follow' || f.epoch < s.epoch) {
    // The leader is sending a snapshot this node will not take: tell it so by closing, or it would wait.
    count(s, f.epoch < s.epoch ? 'stale-epoch' : 'unexpected');
    closeConn(s, s.active, `${f.type} while not following`, out);
    return;
  }
  const fail = (why: string): void => {
    count(s, 'protocol');
    if (l.recv) out.push({ type: 'snapshotAbort' });
    l.recv = null;
    if (s.active !== null) closeConn(s, s.active, why, out);
  };
  if (f.type === 'snapBegin') {
    if (l.recv) out.push({ type: 'snapshotAbort' });
    l.recv = { seq: f.seq, size: f.size, received: 0, installing: false, lastAt: s.now };
    out.push({
      type: 'snapshotBegin',
      seq: f.seq,
      size: f.size,
      sha256: f.sha256,
      conflictsAfter: f.conflictsAfter,
      leader: f.leader,
      epoch: f.epoch,
    });
    return;
  }
  const r = l.recv;
  if (r === null || r.installing || f.seq !== r.seq) {
    fail(`${f.type} without a snapshot in progress`);
    return;
  }
  if (f.type === 'snapChunk') {
    if (f.offset !== r.received || r.received + f.data.length > r.size) {
      fail(`snapshot chunk at ${f.offset}, expected ${r.received} of ${r.size}`);
      return;
    }
    r.received += f.data.length;
    r.lastAt = s.now;
    out.push({ type: 'snapshotChunk', offset: f.offset, data: f.data });
    return;
  }
  if (r.received !== r.size) {
    fail(`snapshot ended at ${r.received} of ${r.size} bytes`);
    return;
  }
  r.installing = true;
  out.push({ type: 'snapshotInstall', conn: s.active });
}

function onTick(s: Draft, out: Action[]): void {
  const { cfg, now } = s;
  for (const c of [...s.conns]) {
    if (now - c.lastRecvAt >= cfg.deadAfterMs) {
      closeConn(s, c.id, `peer silent for ${now - c.lastRecvAt} ms`, out);
    } else if (c.status === null && now - c.openedAt >= cfg.deadAfterMs) {
      closeConn(s, c.id, 'handshake timed out', out);
    }
  }
  const l = s.link;
  if (l.kind === 'follow' && l.recv && !l.recv.installing && now - l.recv.lastAt >= cfg.deadAfterMs) {
    out.push({ type: 'snapshotAbort' });
    l.recv = null;
    if (s.active !== null) closeConn(s, s.active, 'snapshot transfer stalled', out);
  }
  if (l.kind === 'log' && l.acked < l.nextSend - 1 && now - l.progressAt >= cfg.rtoMs) {
    l.nextSend = l.acked + 1;
    l.progressAt = now;
    s.counters.retransmits++;
    ship(s, out);
  }
  if (l.kind === 'snapshot' && now - l.startedAt >= cfg.snapshotTimeoutMs && s.active !== null) {
    out.push({
      type: 'alarm',
      code: 'snapshot-failed',
      detail: 'follower did not acknowledge the snapshot in time',
    });
    closeConn(s, s.active, 'snapshot timed out', out);
  }
  s.waits = s.waits.filter((w) => {
    if (w.deadline > now) return true;
    out.push({ type: 'commitDone', id: w.id, outcome: 'timeout' });
    out.push({
      type: 'alarm',
      code: 'peer-ack-timeout',
      detail: `peer did not acknowledge seq ${w.seq} within ${cfg.ackTimeoutMs} ms`,
    });
    return false;
  });
  if (s.active !== null) {
    const c = conn(s, s.active);
    if (c && now - c.lastSendAt >= cfg.pingEveryMs) {
      // The keepalive is a STATUS: a lost role change or acknowledgement is repaired by the next one.
      send(s, c.id, statusFrame(s), out);
    }
  }
}
