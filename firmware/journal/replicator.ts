import type { Socket } from 'node:net';
import type { Clock, Timer } from '../../hal/clock/types.ts';
import type { Frame } from './codec.ts';
import {
  type Action,
  type AlarmCode,
  type CommitOutcome,
  type CoreConfig,
  type CoreState,
  type Event,
  initialState,
  nextDeadline,
  type Relation,
  step,
} from './core.ts';
import { JournalError } from './errors.ts';
import { Session } from './session.ts';
import type { Store } from './store.ts';
import { SnapshotReceiver, streamSnapshot } from './transfer.ts';
import type { Entry, ReplicationRole } from './types.ts';

/**
 * The driver of the replication core: it owns the connections (one Session each), feeds socket bytes,
 * refusals, store results and timer ticks to `step()`, and carries out the actions it returns. Results of
 * an action (applied, snapshot installed) are fed back before any other queued event. One timer, armed
 * from `nextDeadline()`.
 */
export interface ReplicatorHooks {
  alarm(code: AlarmCode, detail: string): void;
  stepDown(reason: 'split-brain' | 'fenced', winner: string, epoch: number): void;
  relation(relation: Relation, peer: string | null): void;
  /** Entries applied by replication, or a reset after a snapshot install. */
  applied(entries: readonly Entry[]): void;
  installed(head: number, conflicts: number): void;
}

interface Connection {
  id: number;
  socket: Socket;
  session: Session;
  transfer: AbortController | undefined;
}

export class Replicator {
  private state: CoreState;
  private readonly conns = new Map<number, Connection>();
  private nextConn = 1;
  private queue: Event[] = [];
  private running = false;
  private timer: { at: number; handle: Timer } | undefined;
  private readonly commits = new Map<number, (outcome: CommitOutcome) => void>();
  private nextCommit = 1;
  private readonly receiver: SnapshotReceiver;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly deps: {
      cfg: CoreConfig;
      dir: string;
      key: Buffer;
      clock: Clock;
      randomBytes: (n: number) => Buffer;
      hooks: ReplicatorHooks;
    },
  ) {
    const pos = store.position();
    this.state = initialState(
      deps.cfg,
      {
        epoch: Number(store.meta('knownEpoch') ?? 0),
        head: pos.head,
        floor: pos.floor,
        history: pos.history,
        recovering: store.meta('recovering') === '1',
      },
      deps.clock.now(),
    );
    this.receiver = new SnapshotReceiver(deps.dir);
  }

  get core(): CoreState {
    return this.state;
  }

  role(): ReplicationRole {
    return this.state.role;
  }

  /** Takes a connected socket (either direction): says HELLO and starts feeding the core. */
  attach(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const id = this.nextConn++;
    const session = new Session(this.deps.key, this.deps.randomBytes(16));
    const c: Connection = { id, socket, session, transfer: undefined };
    this.conns.set(id, c);
    socket.write(session.hello(this.deps.cfg.self, this.state.epoch, this.state.head));
    this.dispatch({ type: 'connected', conn: id });
    socket.on('data', (chunk: Buffer) => {
      for (const r of session.receive(chunk)) {
        this.dispatch(
          r.ok
            ? { type: 'frame', conn: id, frame: r.frame }
            : { type: 'refused', conn: id, refusal: r.refusal },
        );
      }
    });
    socket.once('close', () => {
      c.transfer?.abort();
      this.conns.delete(id);
      this.dispatch({ type: 'disconnected', conn: id });
    });
  }

  dispatch(event: Event): void {
    if (this.closed) return;
    this.queue.push(event);
    if (this.running) return;
    this.running = true;
    try {
      for (let ev = this.queue.shift(); ev !== undefined; ev = this.queue.shift()) this.run(ev);
    } finally {
      this.running = false;
    }
    this.arm();
  }

  /** Resolves when the follower has acknowledged `seq`, or with how replication degraded. */
  awaitAck(seq: number): Promise<CommitOutcome> {
    const id = this.nextCommit++;
    return new Promise((resolve) => {
      this.commits.set(id, resolve);
      this.dispatch({ type: 'awaitAck', id, seq });
    });
  }

  private run(event: Event): void {
    const { state, actions } = step(this.state, event, this.deps.clock.now());
    this.state = state;
    const results: Event[] = [];
    for (const a of actions) {
      const r = this.executeSafely(a);
      if (r) results.push(r);
    }
    for (const r of results) this.run(r);
  }

  /**
   * A failing action (disk full while receiving a snapshot, a store read error while shipping) must not
   * take the daemon down from inside a socket callback: it becomes an alarm and a dropped connection.
   */
  private executeSafely(a: Action): Event | undefined {
    try {
      return this.execute(a);
    } catch (err) {
      const reason = `${a.type} failed: ${err instanceof Error ? err.message : String(err)}`;
      const conn = 'conn' in a ? a.conn : this.state.active;
      if (a.type === 'snapshotBegin' || a.type === 'snapshotChunk') {
        return conn === null ? undefined : { type: 'snapshotFailed', conn, reason };
      }
      this.deps.hooks.alarm('io', reason);
      if (conn !== null) this.conns.get(conn)?.socket.destroy();
      return undefined;
    }
  }

  private arm(): void {
    if (this.closed) return;
    const at = nextDeadline(this.state);
    if (this.timer && this.timer.at === at) return;
    this.timer?.handle.cancel();
    this.timer = undefined;
    if (at === undefined) return;
    const delay = Math.max(0, at - this.deps.clock.now());
    this.timer = { at, handle: this.deps.clock.setTimer(delay, () => this.onTimer()) };
  }

  private onTimer(): void {
    this.timer = undefined;
    this.dispatch({ type: 'tick' });
  }

  private write(conn: number, frame: Frame): boolean {
    const c = this.conns.get(conn);
    if (c === undefined || c.socket.destroyed) return true;
    return c.socket.write(c.session.encode(frame));
  }

  private execute(a: Action): Event | undefined {
    switch (a.type) {
      case 'send':
        this.write(a.conn, a.frame);
        return undefined;
      case 'ship':
        this.ship(a);
        return undefined;
      case 'close':
        this.conns.get(a.conn)?.transfer?.abort();
        this.conns.get(a.conn)?.socket.destroy();
        return undefined;
      case 'apply':
        return this.apply(a.entries);
      case 'sendSnapshot':
        this.sendSnapshot(a.conn, a.conflictsAfter);
        return undefined;
      case 'snapshotBegin':
        this.receiver.begin(a);
        return undefined;
      case 'snapshotChunk':
        this.receiver.chunk(a.offset, a.data);
        return undefined;
      case 'snapshotAbort':
        this.receiver.abort();
        return undefined;
      case 'snapshotInstall':
        return this.install(a.conn);
      case 'commitDone': {
        const resolve = this.commits.get(a.id);
        this.commits.delete(a.id);
        resolve?.(a.outcome);
        return undefined;
      }
      case 'stepDown':
        this.deps.hooks.stepDown(a.reason, a.winner, a.epoch);
        return undefined;
      case 'persistEpoch':
        this.store.setMeta('knownEpoch', String(a.epoch));
        return undefined;
      case 'relation':
        this.deps.hooks.relation(a.relation, a.peer);
        return undefined;
      case 'alarm':
        this.deps.hooks.alarm(a.code, a.detail);
        return undefined;
    }
  }

  /** Sends entries from..to, splitting frames that would be too large. */
  private ship(a: Extract<Action, { type: 'ship' }>): void {
    const entries = this.store.entries(a.from, a.to);
    const epoch = this.state.epoch;
    const sendBatch = (batch: Entry[], prevSeq: number, prevEpoch: number): void => {
      const last = batch[batch.length - 1];
      const frame: Frame = {
        type: 'entries',
        epoch,
        seq: last?.seq ?? prevSeq,
        prevSeq,
        prevEpoch,
        entries: batch,
      };
      try {
        this.write(a.conn, frame);
      } catch (err) {
        if (!JournalError.is(err, 'JOURNAL_INVALID_ARGUMENT') || batch.length < 2) throw err;
        const half = Math.floor(batch.length / 2);
        const first = batch.slice(0, half);
        sendBatch(first, prevSeq, prevEpoch);
        const tail = first[first.length - 1] as Entry;
        sendBatch(batch.slice(half), tail.seq, tail.epoch);
      }
    };
    if (entries.length > 0) sendBatch(entries, a.prevSeq, a.prevEpoch);
  }

  private apply(entries: Entry[]): Event {
    try {
      this.store.applyReplicated(entries);
    } catch (err) {
      const pos = this.store.position();
      const reason = err instanceof Error ? err.message : String(err);
      return { type: 'applyFailed', head: pos.head, history: pos.history, reason };
    }
    this.deps.hooks.applied(entries);
    return { type: 'applied', head: this.store.position().head };
  }

  private install(conn: number): Event {
    try {
      const conflicts = this.receiver.install(this.store, this.deps.clock.wallTime());
      const pos = this.store.position();
      this.deps.hooks.installed(pos.head, conflicts);
      return { type: 'snapshotInstalled', head: pos.head, floor: pos.floor, history: pos.history, conflicts };
    } catch (err) {
      return { type: 'snapshotFailed', conn, reason: err instanceof Error ? err.message : String(err) };
    }
  }

  private sendSnapshot(conn: number, conflictsAfter: number): void {
    const c = this.conns.get(conn);
    if (c === undefined) return;
    c.transfer?.abort();
    const ac = new AbortController();
    c.transfer = ac;
    const send = (frame: Frame): Promise<void> => {
      if (ac.signal.aborted || c.socket.destroyed)
        return Promise.reject(new JournalError('JOURNAL_CANCELED', 'connection closed'));
      if (c.socket.write(c.session.encode(frame))) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const done = (): void => {
          c.socket.off('drain', done);
          c.socket.off('close', done);
          if (c.socket.destroyed) reject(new JournalError('JOURNAL_CANCELED', 'connection closed'));
          else resolve();
        };
        c.socket.on('drain', done);
        c.socket.on('close', done);
      });
    };
    streamSnapshot({
      store: this.store,
      dir: this.deps.dir,
      name: `${process.pid}-${conn}`,
      conflictsAfter,
      leader: this.deps.cfg.self,
      epoch: this.state.epoch,
      send,
      signal: ac.signal,
    }).then(
      (seq) => {
        if (c.transfer === ac) c.transfer = undefined;
        this.dispatch({ type: 'snapshotSent', conn, seq });
      },
      (err: unknown) => {
        if (c.transfer === ac) c.transfer = undefined;
        if (ac.signal.aborted) return;
        this.dispatch({
          type: 'snapshotFailed',
          conn,
          reason: err instanceof Error ? err.message : String(err),
        });
      },
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timer?.handle.cancel();
    this.timer = undefined;
    for (const c of this.conns.values()) {
      c.transfer?.abort();
      c.socket.destroy();
    }
    this.conns.clear();
    this.receiver.abort();
    for (const resolve of this.commits.values()) resolve('peer-down');
    this.commits.clear();
  }
}
