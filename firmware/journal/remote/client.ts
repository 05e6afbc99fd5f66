/**
 * The client of the journal's access socket (server.ts): a `RemoteJournal` for the services that run
 * outside the process owning the journal. Reads go to the journal file, opened read-only: SQLite in WAL
 * mode lets readers in other processes see every committed transaction, so a read after a write resolved
 * (or after a feed item arrived) sees it. A snapshot install replaces the tables in place, inside one
 * transaction, so the read connection stays valid; it is opened again anyway after a `snapshot-installed`
 * reset and on every (re)connect, when the owner may have moved a damaged file aside at start.
 */
import { createConnection, type Socket } from 'node:net';
import { LinuxClock } from '../../../hal/clock/linux.ts';
import type { Clock, Timer } from '../../../hal/clock/types.ts';
import { HalError } from '../../../hal/errors.ts';
import type { ConfigRef, JournalStatus } from '../api.ts';
import { diffConfig } from '../diff.ts';
import { canceled, JournalError } from '../errors.ts';
import type { FeedItem, SubscribeOptions, Subscription } from '../feed.ts';
import { iterateFeed } from '../feed-iterator.ts';
import type { RecoveryOutcome } from '../recovery.ts';
import { Store } from '../store.ts';
import type { ConfigDoc, Entry } from '../types.ts';
import { fromWire, LineSplitter, type Op, PROTOCOL_VERSION, type WriteMethod } from './protocol.ts';
import type { Hello } from './server.ts';
import type { ConnectJournalOptions, RemoteJournal } from './types.ts';

const HELLO_TIMEOUT_MS = 5000;
const RETRY_MS = 100;

interface ClientSub {
  readonly listener: (item: FeedItem) => void;
  readonly kinds: SubscribeOptions['kinds'];
  /** The subscriber has seen everything up to here: a resubscription continues after it. */
  seen: number;
  closed: boolean;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

type Listeners = { disconnect: Set<(reason: JournalError) => void>; connect: Set<() => void> };

/** Connects to the journal socket at `options.path`; resolves once the file is open and the feed can start. */
export async function connectJournal(options: ConnectJournalOptions): Promise<RemoteJournal> {
  const client = new JournalClient(options);
  await client.reconnect({
    ...(options.signal ? { signal: options.signal } : {}),
    timeoutMs: options.timeoutMs ?? 0,
  });
  return client;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class JournalClient implements RemoteJournal {
  readonly path: string;
  private readonly clock: Clock;
  private readonly log: NonNullable<ConnectJournalOptions['log']>;
  private readonly maxLine: number;
  private hello: Hello | undefined;
  private lastStatus: JournalStatus | undefined;
  private store: Store | undefined;
  private logState: { get(): { head: number; floor: number } | undefined } | undefined;
  private socket: Socket | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly subs = new Map<number, ClientSub>();
  private nextSub = 1;
  private readonly listeners: Listeners = { disconnect: new Set(), connect: new Set() };
  private readonly wakers = new Set<() => void>();
  private closedPromise: Promise<JournalError>;
  private resolveClosed: ((reason: JournalError) => void) | undefined;
  private isClosed = false;
  private dialing: Promise<void> | undefined;
  private retry: Timer | undefined;
  private resetHead = -1;

  readonly config: RemoteJournal['config'];
  readonly health: RemoteJournal['health'];
  readonly sticky: RemoteJournal['sticky'];
  readonly cluster: RemoteJournal['cluster'];
  readonly events: RemoteJournal['events'];

  constructor(private readonly options: ConnectJournalOptions) {
    this.path = options.path;
    this.clock = options.clock ?? new LinuxClock();
    this.log =
      options.log ?? ((level, message) => level !== 'info' && console.error(`journal client: ${message}`));
    this.maxLine = options.maxLineBytes ?? 64 * 1024 * 1024;
    this.closedPromise = this.newClosed();
    const r = (): Store => this.reader();
    const now = (): number => this.clock.wallTime();
    this.config = {
      running: () => r().config.running(),
      version: (n) => r().config.version(n),
      versions: (limit) => r().config.versions(limit),
      candidate: () => r().config.candidate(),
      edit: (doc, o) => this.call('config.edit', [doc, o]) as Promise<Entry>,
      discard: (o) => this.call('config.discard', [o]) as Promise<Entry>,
      commit: (o) => this.call('config.commit', [o]) as ReturnType<RemoteJournal['config']['commit']>,
      rollback: (to, o) =>
        this.call('config.rollback', [to, o]) as ReturnType<RemoteJournal['config']['rollback']>,
      diff: (from, to) => diffConfig(this.doc(from), this.doc(to)),
    };
    this.health = {
      set: (server, state, detail, data) =>
        this.call('health.set', [server, state, detail, data]) as Promise<Entry>,
      delete: (server) => this.call('health.delete', [server]) as Promise<Entry>,
      get: (server) => r().health.get(server),
      all: () => r().health.all(),
    };
    this.sticky = {
      set: (b) => this.call('sticky.set', [b]) as Promise<Entry>,
      delete: (service, client) => this.call('sticky.delete', [service, client]) as Promise<Entry>,
      get: (service, client) => r().sticky.get(service, client, now()),
      list: (service) => r().sticky.list(service, now()),
      count: () => r().sticky.count(now()),
      sweep: () => this.call('sticky.sweep', []) as Promise<Entry | undefined>,
    };
    this.cluster = { facts: () => r().facts.get() };
    this.events = {
      append: (e) => this.call('events.append', [e]) as Promise<Entry>,
      list: (o) => r().events.list(o),
    };
  }

  get node(): string {
    return this.helloOrThrow().node;
  }

  get recovery(): RecoveryOutcome {
    return this.helloOrThrow().recovery;
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.isClosed;
  }

  get closed(): Promise<JournalError> {
    return this.closedPromise;
  }

  /** The status the server last pushed, with the log position read from the file (always current). */
  status(): JournalStatus {
    const base = this.lastStatus ?? this.helloOrThrow().status;
    this.reader();
    const pos = this.logState?.get();
    return pos === undefined ? base : { ...base, head: pos.head, floor: pos.floor };
  }

  on(event: 'disconnect', listener: (reason: JournalError) => void): () => void;
  on(event: 'connect', listener: () => void): () => void;
  on(event: 'disconnect' | 'connect', listener: ((reason: JournalError) => void) | (() => void)): () => void {
    const set = this.listeners[event] as Set<typeof listener>;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  subscribe(listener: (item: FeedItem) => void, options: SubscribeOptions = {}): Subscription {
    if (this.isClosed) throw new JournalError('JOURNAL_CLOSED', `journal client ${this.path}`);
    const id = this.nextSub++;
    const sub: ClientSub = {
      listener,
      kinds: options.kinds,
      seen: options.afterSeq ?? this.status().head,
      closed: false,
    };
    this.subs.set(id, sub);
    if (this.connected) this.sendSubscribe(id, sub);
    return {
      close: () => {
        if (sub.closed) return;
        sub.closed = true;
        this.subs.delete(id);
        if (this.connected) this.send({ id: this.nextId++, op: 'unsubscribe', args: [id] });
      },
    };
  }

  changes(options: SubscribeOptions & { signal?: AbortSignal } = {}): AsyncIterable<FeedItem> {
    return iterateFeed(
      { subscribe: (l, o) => this.subscribe(l, o), wakers: this.wakers, isClosed: () => this.isClosed },
      options,
    );
  }

  reconnect(o: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    if (this.isClosed)
      return Promise.reject(new JournalError('JOURNAL_CLOSED', `journal client ${this.path}`));
    if (this.connected) return Promise.resolve();
    this.dialing ??= this.dialUntil(o.timeoutMs ?? 0, o.signal).finally(() => {
      this.dialing = undefined;
    });
    return this.dialing;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.retry?.cancel();
    const reason = new JournalError('JOURNAL_CLOSED', `journal client ${this.path}`);
    this.socket?.destroy();
    this.lost(reason);
    this.settleClosed(reason);
    for (const s of this.subs.values()) s.closed = true;
    this.subs.clear();
    for (const wake of [...this.wakers]) wake();
    this.store?.close();
    this.store = undefined;
  }

  // -------------------------------------------------------------------------------------------------

  private newClosed(): Promise<JournalError> {
    return new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  private settleClosed(reason: JournalError): void {
    const resolve = this.resolveClosed;
    this.resolveClosed = undefined;
    resolve?.(reason);
  }

  private helloOrThrow(): Hello {
    if (this.hello === undefined)
      throw new JournalError('JOURNAL_CLOSED', `journal client ${this.path}: not connected`);
    return this.hello;
  }

  private reader(): Store {
    if (this.isClosed || this.store === undefined) {
      throw new JournalError('JOURNAL_CLOSED', `journal client ${this.path}`);
    }
    return this.store;
  }

  private doc(ref: ConfigRef): ConfigDoc {
    const config = this.reader().config;
    if (ref === 'candidate') {
      const c = config.candidate();
      if (c === undefined) throw new JournalError('JOURNAL_NO_CANDIDATE', 'diff');
      return c.doc;
    }
    const v = ref === 'running' ? config.running() : config.version(ref);
    if (v === undefined) {
      if (ref === 'running') return {};
      throw new JournalError(
        'JOURNAL_NO_SUCH_VERSION',
        `version ${ref} (running is ${config.running()?.version ?? 0})`,
      );
    }
    return v.doc;
  }

  private notConnected(detail: string): JournalError {
    if (this.isClosed) return new JournalError('JOURNAL_CLOSED', `journal client ${this.path}`);
    return new JournalError('JOURNAL_IO', `journal socket ${this.path}: ${detail}`, {
      cause: new HalError('HAL_CLOSED', `journal socket ${this.path} is not connected`, {
        device: this.path,
      }),
    });
  }

  private call(op: WriteMethod, args: unknown[]): Promise<unknown> {
    if (!this.connected) return Promise.reject(this.notConnected(`${op}: not connected`));
    const id = this.nextId++;
    let line: string;
    try {
      line = JSON.stringify({ id, op, args });
    } catch (err) {
      return Promise.reject(
        new JournalError('JOURNAL_INVALID_ARGUMENT', `${op}: arguments are not JSON: ${String(err)}`),
      );
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: (v) => resolve(v ?? undefined), reject });
      this.socket?.write(`${line}\n`);
    });
  }

  private send(message: { id: number; op: Op; args: unknown[] }): void {
    this.socket?.write(`${JSON.stringify(message)}\n`);
  }

  private sendSubscribe(id: number, sub: ClientSub): void {
    const opts = { afterSeq: sub.seen, ...(sub.kinds === undefined ? {} : { kinds: sub.kinds }) };
    const req = this.nextId++;
    this.pending.set(req, {
      resolve: () => {},
      reject: (err) => {
        if (!this.isClosed && this.connected) this.log('warn', `subscription refused: ${err.message}`);
      },
    });
    this.send({ id: req, op: 'subscribe', args: [id, opts] });
  }

  private async dialUntil(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      if (signal?.aborted) throw canceled(signal, `connecting to ${this.path}`);
      try {
        await this.dialOnce(signal);
        return;
      } catch (err) {
        const code =
          err instanceof JournalError && err.cause instanceof Error && 'code' in err.cause
            ? err.cause.code
            : '';
        const retryable = code === 'ENOENT' || code === 'ECONNREFUSED';
        if (!retryable || this.isClosed || this.clock.now() >= deadline) throw err;
      }
      try {
        await this.clock.sleep(
          Math.min(RETRY_MS, Math.max(1, deadline - this.clock.now())),
          signal ? { signal } : {},
        );
      } catch (err) {
        if (signal?.aborted) throw canceled(signal, `connecting to ${this.path}`);
        throw err;
      }
    }
  }

  /** One attempt: connect, wait for the hello, open the file, resume the subscriptions. */
  private dialOnce(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = createConnection(this.path);
      let settled = false;
      const timer = this.clock.setTimer(HELLO_TIMEOUT_MS, () =>
        fail(
          new JournalError(
            'JOURNAL_IO',
            `journal socket ${this.path}: no hello within ${HELLO_TIMEOUT_MS} ms`,
          ),
        ),
      );
      const onAbort = (): void => fail(canceled(signal as AbortSignal, `connecting to ${this.path}`));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => {
        settled = true;
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: Error): void => {
        if (settled) return;
        done();
        socket.destroy();
        reject(err);
      };
      socket.once('error', (err) =>
        fail(new JournalError('JOURNAL_IO', `journal socket ${this.path}: ${err.message}`, { cause: err })),
      );
      socket.once('close', () =>
        fail(new JournalError('JOURNAL_IO', `journal socket ${this.path} closed before the hello`)),
      );
      const splitter = new LineSplitter(
        this.maxLine,
        (line) => {
          if (!settled) {
            try {
              this.adopt(socket, line);
            } catch (err) {
              fail(err instanceof Error ? err : new Error(String(err)));
              return;
            }
            done();
            resolve();
            return;
          }
          this.receive(line);
        },
        (bytes) => {
          this.log(
            'error',
            `journal socket ${this.path}: a line over ${this.maxLine} bytes (${bytes}+): reconnecting`,
          );
          socket.destroy();
        },
      );
      socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    });
  }

  /** Takes the server's hello: opens the file, switches to the new socket, resubscribes. */
  private adopt(socket: Socket, line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      msg = undefined;
    }
    const hello = isObject(msg) ? msg.hello : undefined;
    if (!isObject(hello) || hello.protocol !== PROTOCOL_VERSION || typeof hello.file !== 'string') {
      throw new JournalError(
        'JOURNAL_PROTOCOL',
        `journal socket ${this.path}: expected a hello, got ${line.slice(0, 100)}`,
      );
    }
    if (this.isClosed) throw new JournalError('JOURNAL_CLOSED', `journal client ${this.path}`);
    this.openFile(hello.file);
    this.hello = hello as unknown as Hello;
    this.lastStatus = this.hello.status;
    this.socket = socket;
    if (this.resolveClosed === undefined) this.closedPromise = this.newClosed();
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.lost(this.notConnected('the server went away'));
    });
    for (const [id, sub] of this.subs) this.sendSubscribe(id, sub);
    for (const l of this.listeners.connect) l();
  }

  private openFile(file: string): void {
    const store = Store.open(file, { readonly: true });
    this.store?.close();
    this.store = store;
    this.logState = store.db.prepare<[], { head: number; floor: number }>(
      'SELECT head, floor FROM log_state WHERE id = 1',
    );
  }

  private receive(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.log('warn', `journal socket ${this.path}: not JSON from the server: ${line.slice(0, 100)}`);
      return;
    }
    if (!isObject(msg)) return;
    if (typeof msg.sub === 'number' && isObject(msg.item)) {
      this.deliver(msg.sub, msg.item as unknown as FeedItem);
    } else if (isObject(msg.status)) {
      this.lastStatus = msg.status as unknown as JournalStatus;
    } else if (typeof msg.id === 'number') {
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id);
      if ('error' in msg) p.reject(fromWire(msg.error));
      else p.resolve(msg.ok);
    } else if ('error' in msg) {
      this.log('warn', `journal socket ${this.path}: ${fromWire(msg.error).message}`);
    }
  }

  private deliver(id: number, item: FeedItem): void {
    const sub = this.subs.get(id);
    if (sub === undefined || sub.closed) return;
    if (item.type === 'reset') {
      sub.seen = item.head;
      if (item.reason === 'snapshot-installed' && item.head !== this.resetHead && this.hello) {
        this.resetHead = item.head;
        try {
          this.openFile(this.hello.file);
        } catch (err) {
          this.log('error', `reopening ${this.hello.file} after a snapshot install: ${String(err)}`);
        }
      }
    } else {
      const last = item.entries[item.entries.length - 1];
      if (last !== undefined) sub.seen = Math.max(sub.seen, last.seq);
    }
    try {
      sub.listener(item);
    } catch (err) {
      this.log('error', `change-feed listener threw: ${String(err)}`);
    }
  }

  /** The connection ended: fail what is in flight, tell the listeners, maybe dial again. */
  private lost(reason: JournalError): void {
    if (this.socket === undefined && this.pending.size === 0) return;
    this.socket = undefined;
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
    this.settleClosed(reason);
    for (const l of this.listeners.disconnect) {
      try {
        l(reason);
      } catch (err) {
        this.log('error', `disconnect listener threw: ${String(err)}`);
      }
    }
    if (this.isClosed) return;
    this.log('warn', reason.message);
    const every = this.options.reconnectMs;
    if (every !== undefined) this.scheduleReconnect(every);
  }

  private scheduleReconnect(every: number): void {
    this.retry?.cancel();
    if (this.isClosed) return;
    this.retry = this.clock.setTimer(every, () => {
      this.retry = undefined;
      if (this.isClosed || this.connected) return;
      this.reconnect().then(
        () => this.log('info', `reconnected to ${this.path}`),
        () => this.scheduleReconnect(every),
      );
    });
  }
}
