import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { Clock, Timer } from '../../hal/clock/types.ts';
import type {
  CommitResult,
  ConfigRef,
  Journal,
  JournalAlarmCode,
  JournalEvents,
  JournalStatus,
} from './api.ts';
import { checkKey } from './codec.ts';
import { type CoreConfig, DEFAULT_TIMING, lagOf, promotionBlocker, relationOf } from './core.ts';
import { diffConfig } from './diff.ts';
import { canceled, JournalError } from './errors.ts';
import { Feed, type FeedItem, type SubscribeOptions } from './feed.ts';
import { topEpoch } from './history.ts';
import { type Endpoint, Link } from './link.ts';
import { openJournal } from './recovery.ts';
import { Replicator } from './replicator.ts';
import { writeSnapshot } from './snapshots.ts';
import type { Store, Synchronous } from './store.ts';
import type { Change, ConfigDoc, Entry, EntryKind, JsonValue } from './types.ts';
import { checkChange, count, text } from './validate.ts';
import { GroupWriter } from './writer.ts';

export interface JournalOptions {
  /** Directory holding journal.db, snapshots/ and corrupt/. */
  dir: string;
  /** This node's id (e.g. the board serial or "a"). */
  node: string;
  /** The peer's id and, on the node that dials (the smaller id), where to reach it. */
  peer: { node: string } & Partial<Endpoint>;
  /** Where to accept the peer's connection (port 0: any free port, see `address()`). */
  listen?: Endpoint;
  /** The shared cluster key from provisioning (at least 16 bytes). */
  clusterKey: Buffer;
  clock: Clock;
  /** Source of connection nonces (default: crypto.randomBytes). */
  randomBytes?: (n: number) => Buffer;
  synchronous?: Synchronous;
  timing?: Partial<Omit<CoreConfig, 'self' | 'peer'>>;
  checkpoint?: { everyMs?: number; everyEntries?: number; retainEntries?: number; keepSnapshots?: number };
  stickySweepMs?: number;
  /** Events (audit log) kept; older rows are pruned at checkpoints. */
  maxEvents?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  signal?: AbortSignal;
}

function defaultLog(node: string): NonNullable<JournalOptions['log']> {
  return (level, message) => {
    if (level !== 'info') console.error(`journal[${node}] ${level}: ${message}`);
  };
}

/** Starts the journal service: recovers the file, starts replication, returns the handle. */
export async function startJournal(options: JournalOptions): Promise<Journal> {
  if (options.signal?.aborted) throw canceled(options.signal, 'journal start');
  text(options.node, 'node');
  text(options.peer?.node, 'peer.node');
  if (options.node === options.peer.node) {
    throw new JournalError(
      'JOURNAL_INVALID_ARGUMENT',
      `peer.node must differ from node, both are "${options.node}"`,
    );
  }
  checkKey(options.clusterKey);
  const service = new JournalService(options);
  try {
    await service.start();
  } catch (err) {
    await service.close();
    throw err;
  }
  return service;
}

class JournalService implements Journal {
  readonly node: string;
  readonly recovery;
  readonly config;
  readonly health;
  readonly sticky;
  readonly cluster;
  readonly events;
  private readonly store: Store;
  private readonly feed: Feed;
  private readonly replicator: Replicator;
  private readonly writer: GroupWriter;
  private readonly link: Link;
  private readonly clock: Clock;
  private readonly log: NonNullable<JournalOptions['log']>;
  private readonly listeners: { [K in keyof JournalEvents]: Set<JournalEvents[K]> } = {
    alarm: new Set(),
    role: new Set(),
    relation: new Set(),
    conflict: new Set(),
  };
  private readonly timers: Timer[] = [];
  private checkpointSoon: Timer | undefined;
  private lastSnapshotSeq: number;
  private closed = false;
  private readonly onAbort = (): void => {
    void this.close();
  };

  constructor(private readonly options: JournalOptions) {
    this.node = options.node;
    this.clock = options.clock;
    this.log = options.log ?? defaultLog(options.node);
    const { store, outcome } = openJournal(options.dir, {
      ...(options.synchronous ? { synchronous: options.synchronous } : {}),
      wallTime: () => options.clock.wallTime(),
    });
    this.store = store;
    this.recovery = outcome;
    this.lastSnapshotSeq = store.position().head;
    this.feed = new Feed(store, (err) => this.log('error', `change-feed listener threw: ${String(err)}`));
    this.writer = new GroupWriter((changes) => this.commitLocal(changes));
    this.replicator = new Replicator(store, {
      cfg: { ...DEFAULT_TIMING, ...options.timing, self: options.node, peer: options.peer.node },
      dir: options.dir,
      key: options.clusterKey,
      clock: options.clock,
      randomBytes: options.randomBytes ?? cryptoRandomBytes,
      hooks: {
        alarm: (code, detail) => this.alarm(code, detail),
        stepDown: (reason, winner, epoch) => {
          this.log('error', `stepped down (${reason}): ${winner} leads epoch ${epoch}`);
          this.emit('role', 'follower', `${reason}: ${winner} leads epoch ${epoch}`);
        },
        relation: (relation, peer) => {
          this.log('info', `replication relation with ${peer ?? 'peer'}: ${relation}`);
          this.emit('relation', relation, peer);
        },
        applied: (entries) => {
          this.feed.publish(entries);
          this.maybeCheckpoint();
        },
        installed: (head, conflicts) => {
          this.feed.reset(head);
          this.log('warn', `installed a snapshot from the peer at seq ${head}`);
          if (conflicts > 0) this.reportConflicts(conflicts);
        },
      },
    });
    const dial =
      options.node < options.peer.node && options.peer.host !== undefined && options.peer.port !== undefined
        ? { host: options.peer.host, port: options.peer.port }
        : undefined;
    this.link = new Link({
      ...(options.listen ? { listen: options.listen } : {}),
      ...(dial ? { dial } : {}),
      clock: options.clock,
      onSocket: (socket) => this.replicator.attach(socket),
    });
    this.config = this.configApi();
    this.health = this.healthApi();
    this.sticky = this.stickyApi();
    this.cluster = this.clusterApi();
    this.events = this.eventsApi();
  }

  async start(): Promise<void> {
    const outcome = this.recovery;
    if (outcome.source === 'snapshot' || outcome.source === 'empty') {
      const detail =
        `journal file unusable (${outcome.problems.slice(0, 2).join('; ')}); kept at ${outcome.corruptPath ?? '-'}; ` +
        (outcome.source === 'snapshot'
          ? `restored snapshot at seq ${outcome.snapshotSeq}`
          : 'no good snapshot: started empty') +
        '; waiting for the peer to resync';
      this.log('error', detail);
      setImmediate(() => this.emit('alarm', { code: 'recovered-from-corruption', detail }));
    }
    await this.link.start();
    const every = (ms: number, fn: () => void): void => {
      const arm = (): void => {
        const t = this.clock.setTimer(ms, () => {
          const at = this.timers.indexOf(t);
          if (at >= 0) this.timers.splice(at, 1);
          if (this.closed) return;
          fn();
          arm();
        });
        this.timers.push(t);
      };
      arm();
    };
    every(this.options.checkpoint?.everyMs ?? 60_000, () => this.safeCheckpoint());
    every(this.options.stickySweepMs ?? 10_000, () => {
      if (this.writable() !== undefined) return;
      this.sticky.sweep().catch((err) => this.log('warn', `sticky sweep: ${err}`));
    });
    this.options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  address(): Endpoint | undefined {
    return this.link.address();
  }

  status(): JournalStatus {
    const core = this.replicator.core;
    return {
      node: this.node,
      role: core.role,
      epoch: core.epoch,
      head: core.head,
      floor: core.floor,
      recovering: core.recovering,
      relation: relationOf(core),
      lag: lagOf(core),
      counters: { ...core.counters, refused: { ...core.counters.refused } },
    };
  }

  on<K extends keyof JournalEvents>(event: K, listener: JournalEvents[K]): () => void {
    const set = this.listeners[event] as Set<JournalEvents[K]>;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  private emit<K extends keyof JournalEvents>(event: K, ...args: Parameters<JournalEvents[K]>): void {
    for (const l of this.listeners[event] as Set<(...a: Parameters<JournalEvents[K]>) => void>) {
      try {
        l(...args);
      } catch (err) {
        this.log('error', `${event} listener threw: ${String(err)}`);
      }
    }
  }

  private alarm(code: JournalAlarmCode, detail: string): void {
    this.log(code === 'conflicts' || code === 'split-brain' ? 'error' : 'warn', `alarm ${code}: ${detail}`);
    this.emit('alarm', { code, detail });
  }

  private reportConflicts(n: number): void {
    const kept = this.store.conflicts().slice(-n);
    const first = kept[0];
    const last = kept[kept.length - 1];
    const range = first && last ? `seq ${first.seq}..${last.seq} of epoch ${first.epoch}` : 'none listed';
    this.log(
      'error',
      `split brain healed against this node: ${n} divergent entries kept in the conflict table (${range})`,
    );
    this.emit('conflict', n);
  }

  /** Undefined when local writes are allowed, else the error that refuses them. */
  private writable(): JournalError | undefined {
    if (this.closed) return new JournalError('JOURNAL_CLOSED', `journal ${this.node}`);
    const core = this.replicator.core;
    if (core.recovering) return new JournalError('JOURNAL_RECOVERING', `node ${this.node}`);
    if (core.role !== 'leader') {
      return new JournalError(
        'JOURNAL_NOT_LEADER',
        `${this.node} is a follower: it changes only by replication`,
      );
    }
    return undefined;
  }

  /** The GroupWriter's commit: numbers the batch in the current epoch, publishes it, lets the core ship it. */
  private commitLocal(changes: readonly Change[]): Entry[] {
    const refusal = this.writable();
    if (refusal) throw refusal;
    const pos = this.store.position();
    const entries = this.store.append(changes, topEpoch(pos.history), this.clock.wallTime());
    this.afterAppend(entries);
    return entries;
  }

  private afterAppend(entries: Entry[]): void {
    const pos = this.store.position();
    this.feed.publish(entries);
    this.replicator.dispatch({ type: 'appended', head: pos.head, history: pos.history });
    this.maybeCheckpoint();
  }

  private write(kind: EntryKind, value: unknown): Promise<Entry> {
    let change: Change;
    try {
      const refusal = this.writable();
      if (refusal) throw refusal;
      change = checkChange(kind, value, kind);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writer.write([change]).then((entries) => entries[0] as Entry);
  }

  async promote(epoch: number, options: { force?: boolean } = {}): Promise<Entry> {
    if (this.closed) throw new JournalError('JOURNAL_CLOSED', `journal ${this.node}`);
    const core = this.replicator.core;
    const blocker = promotionBlocker(core, epoch, options.force);
    if (blocker !== undefined) {
      const code =
        !Number.isSafeInteger(epoch) || epoch < 1 || epoch > 0xffff_ffff
          ? 'JOURNAL_INVALID_ARGUMENT'
          : epoch <= core.epoch
            ? 'JOURNAL_STALE_EPOCH'
            : 'JOURNAL_RECOVERING';
      throw new JournalError(code, `cannot promote ${this.node}: ${blocker}`);
    }
    this.writer.flush();
    const entries = this.store.transact(() => {
      const written = this.store.append(
        [{ kind: 'journal.epoch', value: { epoch, leader: this.node } }],
        epoch,
        this.clock.wallTime(),
      );
      this.store.setMeta('knownEpoch', String(epoch));
      this.store.setMeta('recovering', '0');
      return written;
    });
    const pos = this.store.position();
    this.feed.publish(entries);
    this.replicator.dispatch({ type: 'promoted', head: pos.head, history: pos.history });
    this.log('info', `leader in epoch ${epoch}${options.force ? ' (forced)' : ''}`);
    this.emit('role', 'leader', `promoted to epoch ${epoch}`);
    return entries[0] as Entry;
  }

  demote(): void {
    if (this.closed || this.replicator.role() === 'follower') return;
    this.writer.flush();
    this.replicator.dispatch({ type: 'demoted' });
    this.emit('role', 'follower', 'demoted');
  }

  replicated(
    seq: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<import('./core.ts').CommitOutcome> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(canceled(signal, 'waiting for replication'));
    const done = this.replicator.awaitAck(count(seq, 'seq'));
    if (signal === undefined) return done;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(canceled(signal, 'waiting for replication'));
      signal.addEventListener('abort', onAbort, { once: true });
      done.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  subscribe(listener: (item: FeedItem) => void, options?: SubscribeOptions) {
    return this.feed.subscribe(listener, options);
  }

  changes(options: SubscribeOptions & { signal?: AbortSignal } = {}): AsyncIterable<FeedItem> {
    return this.feed.iterate(options);
  }

  conflicts(afterId = 0) {
    return this.store.conflicts(afterId);
  }

  private maybeCheckpoint(): void {
    const every = this.options.checkpoint?.everyEntries ?? 200_000;
    if (this.checkpointSoon || this.store.position().head - this.lastSnapshotSeq < every) return;
    this.checkpointSoon = this.clock.setTimer(0, () => {
      this.checkpointSoon = undefined;
      if (!this.closed) this.safeCheckpoint();
    });
  }

  private safeCheckpoint(): void {
    try {
      this.checkpoint();
    } catch (err) {
      this.alarm('checkpoint-failed', err instanceof Error ? err.message : String(err));
    }
  }

  checkpoint() {
    if (this.closed) throw new JournalError('JOURNAL_CLOSED', `journal ${this.node}`);
    if (this.writable() === undefined) this.housekeeping();
    this.writer.flush();
    const cp = this.options.checkpoint ?? {};
    // The tables hold the state, so entries older than the retained window (kept for a peer catching up)
    // can go before the snapshot is taken, which keeps the snapshot small.
    this.store.truncate(this.store.position().head - (cp.retainEntries ?? 100_000) + 1);
    const snap = writeSnapshot(this.store, this.options.dir, cp.keepSnapshots ?? 2);
    this.lastSnapshotSeq = snap.seq;
    this.store.db.pragma('wal_checkpoint(TRUNCATE)');
    this.replicator.dispatch({ type: 'truncated', floor: this.store.position().floor });
    return snap;
  }

  /** Leader-only bounded-storage entries, written before a snapshot so both nodes drop the same rows. */
  private housekeeping(): void {
    const now = this.clock.wallTime();
    const changes: Change[] = [];
    if (this.store.sticky.expiredCount(now) > 0)
      changes.push({ kind: 'sticky.expire', value: { before: now } });
    const keep = this.options.maxEvents ?? 100_000;
    if (this.store.events.count() > keep) {
      const boundary = this.store.events.pruneBoundary(keep);
      if (boundary !== undefined) changes.push({ kind: 'event.prune', value: { beforeSeq: boundary } });
    }
    if (changes.length > 0)
      this.writer.write(changes).catch((err) => this.log('warn', `housekeeping: ${err}`));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    for (const t of this.timers.splice(0)) t.cancel();
    this.checkpointSoon?.cancel();
    await this.link.close();
    this.writer.close();
    this.closed = true;
    this.replicator.close();
    this.feed.close();
    this.store.close();
  }

  private doc(ref: ConfigRef): ConfigDoc {
    if (ref === 'candidate') {
      const c = this.store.config.candidate();
      if (c === undefined) throw new JournalError('JOURNAL_NO_CANDIDATE', 'diff');
      return c.doc;
    }
    const v = ref === 'running' ? this.store.config.running() : this.store.config.version(ref);
    if (v === undefined) {
      if (ref === 'running') return {};
      throw new JournalError(
        'JOURNAL_NO_SUCH_VERSION',
        `version ${ref} (running is ${this.store.config.running()?.version ?? 0})`,
      );
    }
    return v.doc;
  }

  private async commitConfig(
    build: () => {
      doc: ConfigDoc;
      comment: string;
      author: string;
      rollbackOf: number | null;
      fromCandidate: boolean;
      expectVersion: number | undefined;
    },
  ): Promise<CommitResult> {
    const refusal = this.writable();
    if (refusal) throw refusal;
    this.writer.flush();
    let before: ConfigDoc = {};
    let entry: Entry | undefined;
    const entries = this.store.transact(() => {
      const running = this.store.config.running();
      const base = running?.version ?? 0;
      const c = build();
      if (c.expectVersion !== undefined && c.expectVersion !== base) {
        throw new JournalError(
          'JOURNAL_VERSION_CONFLICT',
          `expected running version ${c.expectVersion}, it is ${base}`,
        );
      }
      before = running?.doc ?? {};
      const { expectVersion: _, ...value } = c;
      const change = checkChange('config.commit', { ...value, version: base + 1 }, 'config.commit');
      return this.store.append([change], topEpoch(this.store.position().history), this.clock.wallTime());
    });
    this.afterAppend(entries);
    entry = entries[0] as Entry;
    if (entry.kind !== 'config.commit')
      throw new JournalError('JOURNAL_IO', 'commit wrote an unexpected entry');
    const replication = await this.replicator.awaitAck(entry.seq);
    if (replication !== 'acked') {
      this.alarm(
        'commit-unreplicated',
        `config version ${entry.value.version} (seq ${entry.seq}) is durable here only: ${replication}`,
      );
    }
    return {
      version: entry.value.version,
      seq: entry.seq,
      epoch: entry.epoch,
      replication,
      changes: diffConfig(before, entry.value.doc),
    };
  }

  private configApi(): Journal['config'] {
    const store = this.store;
    return {
      running: () => store.config.running(),
      version: (n) => store.config.version(n),
      versions: (limit) => store.config.versions(limit),
      candidate: () => store.config.candidate(),
      edit: (doc, { author }) =>
        this.write('config.candidate', { doc, baseVersion: store.config.running()?.version ?? 0, author }),
      discard: ({ author }) =>
        this.write('config.candidate', {
          doc: null,
          baseVersion: store.config.running()?.version ?? 0,
          author,
        }),
      commit: ({ author, comment = '', doc, expectVersion }) =>
        this.commitConfig(() => {
          if (doc !== undefined) {
            return { doc, comment, author, rollbackOf: null, fromCandidate: false, expectVersion };
          }
          const cand = store.config.candidate();
          if (cand === undefined) throw new JournalError('JOURNAL_NO_CANDIDATE', 'commit');
          const base = store.config.running()?.version ?? 0;
          if (cand.baseVersion !== base) {
            throw new JournalError(
              'JOURNAL_VERSION_CONFLICT',
              `the candidate was edited from version ${cand.baseVersion} but version ${base} is running now`,
            );
          }
          return { doc: cand.doc, comment, author, rollbackOf: null, fromCandidate: true, expectVersion };
        }),
      rollback: (to, { author, comment }) =>
        this.commitConfig(() => {
          const target = store.config.version(to);
          if (target === undefined)
            throw new JournalError('JOURNAL_NO_SUCH_VERSION', `cannot roll back to version ${to}`);
          return {
            doc: target.doc,
            comment: comment ?? `rollback to version ${to}`,
            author,
            rollbackOf: to,
            fromCandidate: false,
            expectVersion: undefined,
          };
        }),
      diff: (from, to) => diffConfig(this.doc(from), this.doc(to)),
    };
  }

  private healthApi(): Journal['health'] {
    return {
      set: (server, state, detail = '', data) =>
        this.write('health.set', {
          server,
          state,
          detail,
          since: this.clock.wallTime(),
          ...(data === undefined ? {} : { data }),
        }),
      delete: (server) => this.write('health.delete', { server }),
      get: (server) => this.store.health.get(server),
      all: () => this.store.health.all(),
    };
  }

  private stickyApi(): Journal['sticky'] {
    const now = (): number => this.clock.wallTime();
    return {
      set: ({ service, client, server, ttlMs }) => {
        try {
          count(ttlMs, 'ttlMs', 1);
        } catch (err) {
          return Promise.reject(err);
        }
        return this.write('sticky.set', { service, client, server, expiresAt: now() + ttlMs });
      },
      delete: (service, client) => this.write('sticky.delete', { service, client }),
      get: (service, client) => this.store.sticky.get(service, client, now()),
      list: (service) => this.store.sticky.list(service, now()),
      count: () => this.store.sticky.count(now()),
      sweep: async () => {
        const t = now();
        if (this.store.sticky.expiredCount(t) === 0) return undefined;
        return this.write('sticky.expire', { before: t });
      },
    };
  }

  private clusterApi(): Journal['cluster'] {
    return {
      facts: () => this.store.facts.get(),
      setRole: (node, role) => this.write('cluster.role', { node, role }),
      setPeer: (node, peer) => this.write('cluster.peer', { node, ...peer, seenAt: this.clock.wallTime() }),
    };
  }

  private eventsApi(): Journal['events'] {
    return {
      append: ({ level, source, message, data }) =>
        this.write('event.append', { level, source, message, data: data ?? (null as JsonValue) }),
      list: (options) => this.store.events.list(options),
    };
  }
}
