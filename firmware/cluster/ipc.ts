/**
 * The channel between the cluster host process (journal, takeover, control socket) and its heartbeat
 * process (links, core, timer, ping node, fence line): Node's IPC channel, one request/reply protocol
 * both ways. The heartbeat side sees the journal and the takeover through `remoteJournal` and
 * `remoteTakeover`, which implement the same interfaces as the in-process ones; the host answers with
 * `serveJournal` and `serveTakeover`. Errors cross as `{ name, code, message }` and come out as a
 * RemoteError with the same code.
 */

import type { Takeover, TakeoverStatus } from '../takeover/types.ts';
import type { ClusterJournal, JournalRecord } from './journal-link.ts';
import type { HealthSource } from './service.ts';

type WireError = { name: string; code: string | undefined; message: string };

export type IpcMessage =
  | { t: 'call'; id: number; method: string; args: unknown[] }
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: WireError }
  | { t: 'event'; name: string; data: unknown };

/** What both ends of a Node IPC channel offer (a ChildProcess, or `process` in the child). */
export interface IpcEndpoint {
  send?(message: IpcMessage): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

export class RemoteError extends Error {
  override readonly name: string = 'RemoteError';
  readonly code: string | undefined;

  constructor(error: WireError) {
    super(error.message);
    this.code = error.code;
  }
}

export type Handler = (...args: never[]) => unknown;

const isMessage = (m: unknown): m is IpcMessage =>
  typeof m === 'object' && m !== null && 't' in m && (m.t === 'call' || m.t === 'reply' || m.t === 'event');

function toWire(err: unknown): WireError {
  if (err instanceof Error) {
    const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
    return { name: err.name, code, message: err.message };
  }
  return { name: 'Error', code: undefined, message: String(err) };
}

/** One end of the request/reply channel. `handlers` answer the other end's calls. */
export class Rpc {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly listeners = new Set<(name: string, data: unknown) => void>();
  private closed = false;
  private readonly onMessage = (m: unknown): void => this.receive(m);

  constructor(
    private readonly endpoint: IpcEndpoint,
    private readonly handlers: Record<string, Handler> = {},
  ) {
    endpoint.on('message', this.onMessage);
  }

  call(method: string, ...args: unknown[]): Promise<unknown> {
    if (this.closed)
      return Promise.reject(
        new RemoteError({ name: 'Error', code: 'IPC_CLOSED', message: `${method}: the channel is closed` }),
      );
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post({ t: 'call', id, method, args });
    });
  }

  notify(name: string, data: unknown = null): void {
    this.post({ t: 'event', name, data });
  }

  onEvent(listener: (name: string, data: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Rejects every call in flight and stops listening. */
  close(reason = 'the channel closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.endpoint.off('message', this.onMessage);
    for (const p of this.pending.values())
      p.reject(new RemoteError({ name: 'Error', code: 'IPC_CLOSED', message: reason }));
    this.pending.clear();
  }

  private post(message: IpcMessage): void {
    try {
      this.endpoint.send?.(message);
    } catch {
      // The other end is gone: its calls are rejected when the channel's close is noticed.
    }
  }

  private receive(m: unknown): void {
    if (!isMessage(m)) return;
    if (m.t === 'event') {
      for (const l of this.listeners) l(m.name, m.data);
      return;
    }
    if (m.t === 'reply') {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new RemoteError(m.error));
      return;
    }
    const handler = this.handlers[m.method] as ((...args: unknown[]) => unknown) | undefined;
    const id = m.id;
    if (handler === undefined) {
      this.post({
        t: 'reply',
        id,
        ok: false,
        error: { name: 'Error', code: 'IPC_NO_METHOD', message: `no method ${m.method}` },
      });
      return;
    }
    Promise.resolve()
      .then(() => handler(...m.args))
      .then(
        (value) => this.post({ t: 'reply', id, ok: true, value: value ?? null }),
        (err: unknown) => this.post({ t: 'reply', id, ok: false, error: toWire(err) }),
      );
  }
}

// ---------------------------------------------------------------------------------------------------

/** Host side: the journal's methods for the heartbeat process. */
export function serveJournal(journal: ClusterJournal): Record<string, Handler> {
  return {
    'journal.knownEpoch': () => journal.knownEpoch(),
    'journal.lead': (epoch: number) => journal.lead(epoch),
    'journal.follow': () => journal.follow(),
    'journal.record': (event: JournalRecord) => journal.record(event),
  };
}

/** Host side: the takeover's methods; each answer carries the takeover's status for the cache. */
export function serveTakeover(takeover: Takeover): Record<string, Handler> {
  const withStatus = async (p: Promise<void> | void): Promise<TakeoverStatus> => {
    await p;
    return takeover.status();
  };
  return {
    'takeover.acquire': (epoch: number) => withStatus(takeover.acquire(epoch)),
    'takeover.release': () => withStatus(takeover.release()),
    'takeover.reconcile': () => withStatus(takeover.reconcile()),
    'takeover.announce': () => withStatus(takeover.announce()),
  };
}

/** The event the host sends the heartbeat process with this node's health score: `{ score }` (0..100). */
export const HEALTH_EVENT = 'health';

/**
 * Heartbeat side: the scores the host sends. Listens from construction, so a score sent while the core
 * is still starting is handed to it when it subscribes.
 */
export function remoteHealth(rpc: Rpc): HealthSource {
  let latest: number | undefined;
  const listeners = new Set<(score: number) => void>();
  rpc.onEvent((name, data) => {
    if (name !== HEALTH_EVENT || typeof data !== 'object' || data === null) return;
    const score = (data as { score?: unknown }).score;
    if (typeof score !== 'number' || !Number.isInteger(score) || score < 0 || score > 100) return;
    latest = score;
    for (const l of listeners) l(score);
  });
  return {
    subscribe: (listener) => {
      if (latest !== undefined) listener(latest);
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}

export function remoteJournal(rpc: Rpc): ClusterJournal {
  return {
    knownEpoch: async () => Number(await rpc.call('journal.knownEpoch')),
    lead: async (epoch) => (await rpc.call('journal.lead', epoch)) === true,
    follow: async () => {
      await rpc.call('journal.follow');
    },
    record: async (event) => {
      await rpc.call('journal.record', event);
    },
  };
}

const EMPTY: TakeoverStatus = {
  desired: 'released',
  present: [],
  converged: false,
  lastError: undefined,
  bursts: { started: 0, failed: 0, framesSent: 0 },
  lastAcquire: undefined,
};

/** The takeover in the host process; `status()` is the one the last call returned. */
export function remoteTakeover(rpc: Rpc): Takeover {
  let last: TakeoverStatus = EMPTY;
  const run = async (method: string, ...args: unknown[]): Promise<void> => {
    last = (await rpc.call(method, ...args)) as TakeoverStatus;
  };
  return {
    acquire: (epoch) => run('takeover.acquire', epoch),
    release: () => run('takeover.release'),
    reconcile: () => run('takeover.reconcile'),
    announce: () => {
      run('takeover.announce').catch(() => {});
    },
    status: () => last,
    close: async () => {},
  };
}
