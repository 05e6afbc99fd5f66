import type { Frame } from '../../../firmware/journal/codec.ts';
import {
  type Action,
  type CoreConfig,
  type CoreState,
  DEFAULT_TIMING,
  type Event,
  initialState,
  nextDeadline,
  promotionBlocker,
  step,
} from '../../../firmware/journal/core.ts';
import { topEpoch } from '../../../firmware/journal/history.ts';
import type { Entry, EpochRecord } from '../../../firmware/journal/types.ts';
import { Rng } from '../../../hal/sim/rng.ts';

/**
 * A deterministic world of two replication cores joined by a simulated connection (tigerbeetle VOPR
 * style). One seed draws every fault rate; the network delivers frames with random latency, loses and
 * garbles some (the receiver's session refuses them, so the core sees a refusal), keeps each connection
 * in order as TCP does (a late frame would be a replay to the session), cuts connections, partitions, crashes and restarts
 * nodes, and — as a confused cluster would — promotes the standby during a partition (split brain).
 * Stores are in-memory logs with the same rules as store.ts. Every step is checked against the safety
 * invariants; `violations` lists what broke.
 */
export type NodeId = 'a' | 'b';

export interface FaultOptions {
  lossP: number;
  latencyMin: number;
  latencyMax: number;
  /** Per ms, probability of cutting the connection. */
  cutP: number;
  /** Per ms, probability of a partition starting (lasting 200..3000 ms). */
  partitionP: number;
  /** Per ms, probability the leader crashes. */
  crashP: number;
  /** Chance that a partition makes the cluster promote the standby (split brain). */
  splitBrainP: number;
  /** Per ms, probability a node checkpoints (truncates its log, keeping `retain` entries). */
  checkpointP: number;
  retain: number;
}

export function drawFaults(rng: Rng): FaultOptions {
  return {
    lossP: rng.pick([0, 0.001, 0.01, 0.05]),
    latencyMin: rng.int(0, 2),
    latencyMax: rng.int(2, 15),
    cutP: rng.pick([0, 0.0002, 0.001]),
    partitionP: rng.pick([0, 0.0002, 0.0005]),
    crashP: rng.pick([0, 0.0001, 0.0003]),
    splitBrainP: rng.pick([0, 0.5, 1]),
    checkpointP: rng.pick([0, 0.0005, 0.002]),
    retain: rng.int(20, 400),
  };
}

interface Receiving {
  chunks: Buffer[];
  conflictsAfter: number;
  leader: string;
  epoch: number;
}

interface SimNode {
  id: NodeId;
  up: boolean;
  core: CoreState;
  /** Every applied entry, 1..head (the node's tables); entries below `floor` can no longer be shipped. */
  all: Entry[];
  floor: number;
  history: EpochRecord[];
  knownEpoch: number;
  conflicts: Entry[];
  receiving: Receiving | null;
  /** Every entry this node ever held, by `seq/epoch`: each must end in its log or its conflict table. */
  ever: Map<string, Entry>;
}

interface Wire {
  id: number;
  open: boolean;
  /** Connection id on each node (the same number on both sides here). */
  alive: Record<NodeId, boolean>;
  sent: Record<NodeId, number>;
  delivered: Record<NodeId, number>;
  lastAt: Record<NodeId, number>;
}

interface InFlight {
  at: number;
  to: NodeId;
  wire: number;
  counter: number;
  frame: Frame;
}

const other = (n: NodeId): NodeId => (n === 'a' ? 'b' : 'a');
const key = (e: Entry): string => `${e.seq}/${e.epoch}`;
const same = (x: Entry | undefined, y: Entry | undefined): boolean => JSON.stringify(x) === JSON.stringify(y);

export class SimWorld {
  now = 0;
  readonly rng: Rng;
  readonly faults: FaultOptions;
  readonly nodes: Record<NodeId, SimNode>;
  readonly violations: string[] = [];
  readonly acked: Entry[] = [];
  readonly log: string[] = [];
  readonly stats = {
    commits: 0,
    acked: 0,
    degraded: 0,
    splitBrains: 0,
    crashes: 0,
    snapshots: 0,
    conflicts: 0,
  };
  private readonly cfg: Omit<CoreConfig, 'self' | 'peer'>;
  private wire: Wire | undefined;
  private wires = 0;
  private flight: InFlight[] = [];
  private partitionUntil = 0;
  private nextDial = 0;
  private nextWrite = 0;
  private takeoverAt: number | undefined;
  private restartAt: Partial<Record<NodeId, number>> = {};
  private commitIds = 1;
  private readonly commitSeq = new Map<number, { node: NodeId; seq: number }>();
  private faultsOn = true;
  private checkedTo = 0;
  private writesUntil = Number.POSITIVE_INFINITY;

  constructor(
    readonly seed: number,
    faults?: FaultOptions,
    timing: Partial<Omit<CoreConfig, 'self' | 'peer'>> = {},
  ) {
    this.rng = new Rng(seed);
    this.faults = faults ?? drawFaults(this.rng.fork());
    this.cfg = { ...DEFAULT_TIMING, windowEntries: 64, batchEntries: 8, resyncLagEntries: 300, ...timing };
    this.nodes = { a: this.makeNode('a'), b: this.makeNode('b') };
  }

  private makeNode(id: NodeId): SimNode {
    const node: SimNode = {
      id,
      up: true,
      core: initialState(
        { ...this.cfg, self: id, peer: other(id) },
        { epoch: 0, head: 0, floor: 1, history: [], recovering: false },
        this.now,
      ),
      all: [],
      floor: 1,
      history: [],
      knownEpoch: 0,
      conflicts: [],
      receiving: null,
      ever: new Map(),
    };
    return node;
  }

  private head(n: SimNode): number {
    return n.all.length;
  }

  private violate(what: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.now} ${what}`);
  }

  // --- the cluster's decisions (what firmware/cluster would do) ---

  promote(id: NodeId): void {
    const n = this.nodes[id];
    if (!n.up) return;
    const epoch = Math.max(this.nodes.a.core.epoch, this.nodes.b.core.epoch, n.knownEpoch) + 1;
    if (promotionBlocker(n.core, epoch) !== undefined) return;
    this.appendLocal(n, [{ kind: 'journal.epoch', value: { epoch, leader: id } }], epoch);
    n.knownEpoch = epoch;
    this.log.push(`t=${this.now} promote ${id} epoch ${epoch}`);
    this.dispatch(n, { type: 'promoted', head: this.head(n), history: n.history });
  }

  private appendLocal(
    n: SimNode,
    changes: Entry['value'][] | { kind: string; value: unknown }[],
    epoch: number,
  ): void {
    for (const c of changes as { kind: Entry['kind']; value: unknown }[]) {
      const e = { ...c, seq: this.head(n) + 1, epoch, at: this.now } as Entry;
      if (e.kind === 'journal.epoch') n.history = [...n.history, { epoch, leader: n.id, startSeq: e.seq }];
      n.all.push(e);
      n.ever.set(key(e), e);
    }
  }

  private write(n: SimNode): void {
    if (n.core.role !== 'leader' || !n.up) return;
    const k = this.rng.int(1, 4);
    const epoch = topEpoch(n.history);
    const changes = Array.from({ length: k }, (_, i) => ({
      kind: 'health.set',
      value: {
        server: `rs${this.rng.int(1, 9)}`,
        state: 'up',
        detail: `${n.id}${this.now}.${i}`,
        since: this.now,
      },
    }));
    this.appendLocal(n, changes, epoch);
    this.dispatch(n, { type: 'appended', head: this.head(n), history: n.history });
    if (this.rng.chance(0.2)) {
      const id = this.commitIds++;
      this.commitSeq.set(id, { node: n.id, seq: this.head(n) });
      this.stats.commits++;
      this.dispatch(n, { type: 'awaitAck', id, seq: this.head(n) });
    }
  }

  // --- the shell: carrying out actions ---

  private dispatch(n: SimNode, ev: Event): void {
    if (!n.up) return;
    const { state, actions } = step(n.core, ev, this.now);
    n.core = state;
    const results: Event[] = [];
    for (const a of actions) {
      const r = this.execute(n, a);
      if (r) results.push(r);
    }
    for (const r of results) this.dispatch(n, r);
  }

  private send(from: SimNode, frame: Frame): void {
    const w = this.wire;
    if (w === undefined || !w.open || !w.alive[from.id]) return;
    const to = other(from.id);
    const counter = w.sent[from.id]++;
    const f = this.faults;
    // One TCP connection delivers in order: latency varies, but a frame never overtakes an earlier one;
    // during a partition TCP holds the data back until the path returns (or a side gives up and closes).
    const sendAt = Math.max(this.now, this.partitionUntil);
    const at = Math.max(w.lastAt[to], sendAt + this.rng.int(f.latencyMin, f.latencyMax));
    w.lastAt[to] = at;
    this.flight.push({ at, to, wire: w.id, counter, frame });
  }

  private execute(n: SimNode, a: Action): Event | undefined {
    switch (a.type) {
      case 'send':
        this.send(n, a.frame);
        return undefined;
      case 'ship': {
        if (a.from < n.floor) this.violate(`${n.id} shipped ${a.from} below its floor ${n.floor}`);
        const entries = n.all.slice(a.from - 1, a.to);
        const last = entries[entries.length - 1];
        this.send(n, {
          type: 'entries',
          epoch: n.core.epoch,
          seq: last?.seq ?? a.prevSeq,
          prevSeq: a.prevSeq,
          prevEpoch: a.prevEpoch,
          entries,
        });
        return undefined;
      }
      case 'close':
        this.cut(`${n.id} closed: ${a.reason}`);
        return undefined;
      case 'apply':
        return this.apply(n, a.entries);
      case 'sendSnapshot': {
        const payload = Buffer.from(JSON.stringify({ all: n.all, history: n.history }));
        const seq = this.head(n);
        const epoch = n.core.epoch;
        const base = { epoch, seq };
        this.send(n, {
          ...base,
          type: 'snapBegin',
          size: payload.length,
          sha256: '0'.repeat(64),
          conflictsAfter: a.conflictsAfter,
          leader: n.id,
        });
        for (let off = 0; off < payload.length; off += 4096) {
          this.send(n, { ...base, type: 'snapChunk', offset: off, data: payload.subarray(off, off + 4096) });
        }
        this.send(n, { ...base, type: 'snapEnd' });
        this.stats.snapshots++;
        return { type: 'snapshotSent', conn: a.conn, seq };
      }
      case 'snapshotBegin':
        n.receiving = { chunks: [], conflictsAfter: a.conflictsAfter, leader: a.leader, epoch: a.epoch };
        return undefined;
      case 'snapshotChunk':
        n.receiving?.chunks.push(a.data);
        return undefined;
      case 'snapshotAbort':
        n.receiving = null;
        return undefined;
      case 'snapshotInstall':
        return this.install(n, a.conn);
      case 'commitDone': {
        const c = this.commitSeq.get(a.id);
        this.commitSeq.delete(a.id);
        if (c === undefined) {
          this.violate(`commitDone for unknown id ${a.id}`);
          return undefined;
        }
        if (a.outcome === 'acked') {
          const mine = this.nodes[c.node].all[c.seq - 1];
          const theirs = this.nodes[other(c.node)].all[c.seq - 1];
          if (!same(mine, theirs)) this.violate(`seq ${c.seq} acknowledged but the follower lacks it`);
          if (mine) this.acked.push(mine);
          this.stats.acked++;
        } else this.stats.degraded++;
        return undefined;
      }
      case 'persistEpoch':
        n.knownEpoch = Math.max(n.knownEpoch, a.epoch);
        return undefined;
      case 'stepDown':
        this.log.push(`t=${this.now} ${n.id} stepped down (${a.reason})`);
        return undefined;
      case 'relation':
      case 'alarm':
        return undefined;
    }
  }

  private apply(n: SimNode, entries: Entry[]): Event {
    for (const e of entries) {
      const top = topEpoch(n.history);
      const ok =
        e.seq === this.head(n) + 1 &&
        (e.kind === 'journal.epoch' ? e.epoch > top && e.value.epoch === e.epoch : e.epoch === top);
      if (!ok) {
        this.violate(
          `${n.id} was asked to apply entry ${e.seq}/${e.epoch} (${e.kind}) at head ${this.head(n)}`,
        );
        return { type: 'applyFailed', head: this.head(n), history: n.history, reason: 'invalid' };
      }
      if (e.kind === 'journal.epoch')
        n.history = [...n.history, { epoch: e.epoch, leader: e.value.leader, startSeq: e.seq }];
      n.all.push(e);
      n.ever.set(key(e), e);
    }
    return { type: 'applied', head: this.head(n) };
  }

  private install(n: SimNode, conn: number): Event {
    const r = n.receiving;
    n.receiving = null;
    if (r === null) return { type: 'snapshotFailed', conn, reason: 'nothing received' };
    let snap: { all: Entry[]; history: EpochRecord[] };
    try {
      snap = JSON.parse(Buffer.concat(r.chunks).toString()) as { all: Entry[]; history: EpochRecord[] };
    } catch {
      return { type: 'snapshotFailed', conn, reason: 'garbled' };
    }
    const divergent = n.all.slice(r.conflictsAfter);
    for (const e of n.all.slice(0, r.conflictsAfter)) {
      if (!same(e, snap.all[e.seq - 1]))
        this.violate(`${n.id} entry ${e.seq} below conflictsAfter differs from the snapshot`);
    }
    n.conflicts.push(...divergent.filter((e) => !same(e, snap.all[e.seq - 1])));
    this.stats.conflicts += divergent.length;
    n.all = snap.all;
    n.history = snap.history;
    n.floor = this.head(n) + 1;
    for (const e of n.all) n.ever.set(key(e), e);
    return {
      type: 'snapshotInstalled',
      head: this.head(n),
      floor: n.floor,
      history: n.history,
      conflicts: divergent.length,
    };
  }

  // --- the network ---

  private cut(why: string): void {
    const w = this.wire;
    if (w === undefined || !w.open) return;
    w.open = false;
    this.log.push(`t=${this.now} cut: ${why}`);
    this.flight = this.flight.filter((f) => f.wire !== w.id);
    for (const id of ['a', 'b'] as const) {
      if (w.alive[id]) {
        w.alive[id] = false;
        this.dispatch(this.nodes[id], { type: 'disconnected', conn: w.id });
      }
    }
  }

  private dial(): void {
    if ((this.wire?.open ?? false) || this.now < this.partitionUntil || this.now < this.nextDial) return;
    this.nextDial = this.now + 100;
    if (!this.nodes.a.up || !this.nodes.b.up) return;
    const id = ++this.wires;
    const w: Wire = {
      id,
      open: true,
      alive: { a: true, b: true },
      sent: { a: 0, b: 0 },
      delivered: { a: -1, b: -1 },
      lastAt: { a: 0, b: 0 },
    };
    this.wire = w;
    for (const nid of ['a', 'b'] as const) {
      const n = this.nodes[nid];
      this.dispatch(n, { type: 'connected', conn: id });
      this.send(n, {
        type: 'hello',
        epoch: n.core.epoch,
        seq: n.core.head,
        node: nid,
        nonce: '0'.repeat(32),
      });
    }
  }

  private deliver(): void {
    const due = this.flight.filter((f) => f.at <= this.now);
    if (due.length === 0) return;
    this.flight = this.flight.filter((f) => f.at > this.now);
    due.sort((x, y) => x.at - y.at);
    for (const f of due) {
      const w = this.wire;
      const n = this.nodes[f.to];
      if (w === undefined || w.id !== f.wire || !w.alive[f.to] || !n.up) continue;
      if (this.faultsOn && this.rng.chance(this.faults.lossP)) {
        this.dispatch(n, {
          type: 'refused',
          conn: w.id,
          refusal: { reason: 'bad-mac', fatal: false, detail: 'garbled' },
        });
        continue;
      }
      if (f.counter <= w.delivered[f.to]) {
        this.dispatch(n, {
          type: 'refused',
          conn: w.id,
          refusal: { reason: 'replayed', fatal: false, detail: 'late' },
        });
        continue;
      }
      w.delivered[f.to] = f.counter;
      this.dispatch(n, { type: 'frame', conn: w.id, frame: f.frame });
    }
  }

  // --- faults ---

  private crash(id: NodeId): void {
    const n = this.nodes[id];
    if (!n.up) return;
    this.stats.crashes++;
    this.log.push(`t=${this.now} crash ${id}`);
    if (this.wire?.open) {
      const w = this.wire;
      w.alive[id] = false;
      this.cut(`${id} crashed`);
    }
    n.up = false;
    n.receiving = null;
    this.restartAt[id] = this.now + this.rng.int(100, 2000);
    if (this.nodes[other(id)].core.role === 'follower') this.takeoverAt = this.now + this.rng.int(50, 500);
  }

  private restart(id: NodeId): void {
    const n = this.nodes[id];
    n.up = true;
    n.core = initialState(
      { ...this.cfg, self: id, peer: other(id) },
      { epoch: n.knownEpoch, head: this.head(n), floor: n.floor, history: n.history, recovering: false },
      this.now,
    );
    this.log.push(`t=${this.now} restart ${id} at head ${this.head(n)}`);
  }

  private leader(): SimNode | undefined {
    const leaders = (['a', 'b'] as const)
      .map((id) => this.nodes[id])
      .filter((n) => n.up && n.core.role === 'leader');
    return leaders.length === 1 ? leaders[0] : undefined;
  }

  private randomFaults(): void {
    const f = this.faults;
    const r = this.rng;
    if (r.chance(f.cutP)) this.cut('random cut');
    if (this.now >= this.partitionUntil && r.chance(f.partitionP)) {
      this.partitionUntil = this.now + r.int(200, 3000);
      for (const fl of this.flight) fl.at = Math.max(fl.at, this.partitionUntil);
      this.log.push(`t=${this.now} partition until ${this.partitionUntil}`);
      const standby = (['a', 'b'] as const).find(
        (id) => this.nodes[id].up && this.nodes[id].core.role === 'follower',
      );
      if (standby && r.chance(f.splitBrainP)) {
        this.stats.splitBrains++;
        this.takeoverAt = this.now + r.int(this.cfg.deadAfterMs, this.cfg.deadAfterMs + 300);
      }
    }
    const lead = this.leader();
    if (lead && r.chance(f.crashP)) this.crash(lead.id);
    for (const id of ['a', 'b'] as const) {
      const n = this.nodes[id];
      if (n.up && r.chance(f.checkpointP) && this.head(n) - f.retain + 1 > n.floor) {
        n.floor = this.head(n) - f.retain + 1;
        this.dispatch(n, { type: 'truncated', floor: n.floor });
      }
    }
  }

  // --- running ---

  private tickNodes(): void {
    for (const id of ['a', 'b'] as const) {
      const n = this.nodes[id];
      if (!n.up) continue;
      const d = nextDeadline(n.core);
      if (d !== undefined && d <= this.now) this.dispatch(n, { type: 'tick' });
    }
  }

  private advance1(): void {
    this.now++;
    this.deliver();
    this.tickNodes();
    for (const id of ['a', 'b'] as const) {
      const at = this.restartAt[id];
      if (at !== undefined && this.now >= at) {
        delete this.restartAt[id];
        this.restart(id);
      }
    }
    if (this.takeoverAt !== undefined && this.now >= this.takeoverAt) {
      this.takeoverAt = undefined;
      const standby = (['a', 'b'] as const).find(
        (id) => this.nodes[id].up && this.nodes[id].core.role === 'follower',
      );
      if (standby) this.promote(standby);
    }
    if (this.faultsOn) this.randomFaults();
    this.dial();
    if (this.now >= this.nextWrite && this.now < this.writesUntil) {
      this.nextWrite = this.now + this.rng.int(1, 25);
      for (const id of ['a', 'b'] as const) this.write(this.nodes[id]);
    }
    this.check();
  }

  /** Safety: logs agree wherever their epochs agree; heads only shrink by a snapshot. */
  private check(): void {
    const a = this.nodes.a;
    const b = this.nodes.b;
    const n = Math.min(this.head(a), this.head(b));
    const from = Math.max(0, n - 20, this.checkedTo);
    this.checkedTo = n;
    for (let i = from; i < n; i++) {
      const x = a.all[i];
      const y = b.all[i];
      if (x && y && x.epoch === y.epoch && !same(x, y))
        this.violate(`log mismatch at seq ${i + 1} in epoch ${x.epoch}`);
    }
    for (const node of [a, b]) {
      if (node.up && node.core.head !== this.head(node) && node.receiving === null) {
        this.violate(`${node.id} core head ${node.core.head} != log head ${this.head(node)}`);
      }
    }
  }

  /**
   * Runs the safety phase (faults on), then heals everything, keeps writing for 2 s and runs until the two
   * logs converge.
   */
  run(options: { safetyMs: number; livenessMs: number }): { converged: boolean; at: number } {
    this.promote('a');
    while (this.now < options.safetyMs) this.advance1();
    this.faultsOn = false;
    for (const id of ['a', 'b'] as const) {
      if (!this.nodes[id].up) {
        delete this.restartAt[id];
        this.restart(id);
      }
    }
    const deadline = this.now + options.livenessMs;
    this.writesUntil = this.now + 2_000;
    let stableSince: number | undefined;
    while (this.now < deadline) {
      this.advance1();
      if (this.leader() === undefined && this.now % 500 === 0) {
        const pick = this.head(this.nodes.a) >= this.head(this.nodes.b) ? 'a' : 'b';
        if (this.nodes.a.core.role !== 'leader' && this.nodes.b.core.role !== 'leader') this.promote(pick);
      }
      if (this.converged()) {
        stableSince ??= this.now;
        if (this.now - stableSince >= 200) {
          const lead = this.leader() as SimNode;
          const f = this.nodes[other(lead.id)];
          const identical = f.all.every((e, i) => same(e, lead.all[i]));
          if (!identical) this.violate('heads match after healing but the logs differ');
          return { converged: identical, at: stableSince };
        }
      } else stableSince = undefined;
    }
    return { converged: false, at: this.now };
  }

  converged(): boolean {
    const lead = this.leader();
    if (lead === undefined) return false;
    const f = this.nodes[other(lead.id)];
    return f.up && f.core.link.kind === 'follow' && this.head(f) === this.head(lead);
  }

  /** End-of-run checks: acknowledged entries survive; nothing a node held vanished without a conflict record. */
  finalChecks(): void {
    const lead = this.leader();
    if (lead === undefined) return;
    for (const e of this.acked) {
      if (!same(lead.all[e.seq - 1], e)) this.violate(`acknowledged entry ${e.seq}/${e.epoch} lost`);
    }
    for (const n of [this.nodes.a, this.nodes.b]) {
      const kept = new Set([...n.all.map(key), ...n.conflicts.map(key)]);
      for (const [k] of n.ever) {
        if (!kept.has(k)) this.violate(`${n.id} dropped entry ${k} without a conflict record`);
      }
    }
  }

  describe(): string {
    return `seed=${this.seed} faults=${JSON.stringify(this.faults)}`;
  }
}
