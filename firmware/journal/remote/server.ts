/**
 * The journal's access socket, served by the process that owns the journal (the cluster host). Clients
 * read the journal file themselves (read-only SQLite in WAL mode: always current); through the socket
 * they write, follow the change feed and receive the replication status. See protocol.ts for the lines.
 *
 * No request can crash the server: a bad line gets an error answer, a client that stops reading while
 * more than `maxBufferedBytes` wait for it is disconnected.
 */
import { lstatSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { LinuxClock } from '../../../hal/clock/linux.ts';
import type { Clock, Timer } from '../../../hal/clock/types.ts';
import type { Journal, JournalStatus } from '../api.ts';
import { ioError, JournalError } from '../errors.ts';
import type { FeedItem, SubscribeOptions, Subscription } from '../feed.ts';
import type { ConfigDoc, JsonValue } from '../types.ts';
import {
  BadRequest,
  DEFAULT_MAX_LINE_BYTES,
  LineSplitter,
  PROTOCOL_VERSION,
  parseRequest,
  type Request,
  toWire,
  type WriteMethod,
} from './protocol.ts';

export interface ServeJournalOptions {
  /** The socket path (`runtimePaths(board).journalSocket`). A stale socket file there is replaced. */
  path: string;
  /** The journal's SQLite file, which clients open read-only (`<journal dir>/journal.db`). */
  file: string;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  clock?: Clock;
  /** How often the replication status is compared and pushed when it changed (default 1000 ms). */
  statusEveryMs?: number;
  maxLineBytes?: number;
  /** A client with more than this waiting to be sent to it is cut off (default 32 MiB). */
  maxBufferedBytes?: number;
  /**
   * Sees every well-formed write request before the journal runs it, whatever the outcome (a follower
   * refuses it). The cluster host learns its own monitor's health score this way on any role.
   */
  onWrite?: (method: WriteMethod, args: readonly unknown[]) => void;
}

export interface JournalServer {
  readonly path: string;
  /** Clients connected now. */
  connections(): number;
  /** Stops listening, disconnects every client, removes the socket file. */
  close(): Promise<void>;
}

export interface Hello {
  protocol: number;
  node: string;
  file: string;
  recovery: Journal['recovery'];
  status: JournalStatus;
}

type Handler = (j: Journal, args: readonly unknown[]) => Promise<unknown>;

function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new JournalError('JOURNAL_INVALID_ARGUMENT', `${what} must be an object, got ${JSON.stringify(v)}`);
  }
  return v as Record<string, unknown>;
}

/** The write methods a client may call; the journal validates the values as it would locally. */
const WRITES: Record<WriteMethod, Handler> = {
  'config.edit': (j, [doc, o]) =>
    j.config.edit(object(doc, 'doc') as ConfigDoc, object(o, 'options') as { author: string }),
  'config.discard': (j, [o]) => j.config.discard(object(o, 'options') as { author: string }),
  'config.commit': (j, [o]) =>
    j.config.commit(object(o, 'options') as Parameters<Journal['config']['commit']>[0]),
  'config.rollback': (j, [to, o]) =>
    j.config.rollback(to as number, object(o, 'options') as { author: string; comment?: string }),
  'health.set': (j, [server, state, detail, data]) =>
    j.health.set(
      server as string,
      state as 'up',
      (detail ?? undefined) as string | undefined,
      (data ?? undefined) as JsonValue | undefined,
    ),
  'health.delete': (j, [server]) => j.health.delete(server as string),
  'sticky.set': (j, [b]) => j.sticky.set(object(b, 'binding') as Parameters<Journal['sticky']['set']>[0]),
  'sticky.delete': (j, [service, client]) => j.sticky.delete(service as string, client as string),
  'sticky.sweep': (j) => j.sticky.sweep(),
  'events.append': (j, [e]) =>
    j.events.append(object(e, 'event') as Parameters<Journal['events']['append']>[0]),
};

function subscribeOptions(v: unknown): SubscribeOptions {
  const o = object(v ?? {}, 'subscribe options');
  const out: SubscribeOptions = {};
  if (o.afterSeq !== undefined) {
    if (typeof o.afterSeq !== 'number' || !Number.isSafeInteger(o.afterSeq) || o.afterSeq < 0) {
      throw new JournalError(
        'JOURNAL_INVALID_ARGUMENT',
        `afterSeq must be an integer >= 0, got ${o.afterSeq}`,
      );
    }
    out.afterSeq = o.afterSeq;
  }
  if (o.kinds !== undefined) {
    const kinds = o.kinds;
    if (!Array.isArray(kinds) || !kinds.every((k) => typeof k === 'string')) {
      throw new JournalError('JOURNAL_INVALID_ARGUMENT', 'kinds must be an array of entry kinds or prefixes');
    }
    out.kinds = kinds as SubscribeOptions['kinds'] & string[];
  }
  return out;
}

/** Starts serving `journal` at `options.path`. */
export async function serveJournal(journal: Journal, options: ServeJournalOptions): Promise<JournalServer> {
  const log =
    options.log ?? ((level, message) => level !== 'info' && console.error(`journal socket: ${message}`));
  const clock = options.clock ?? new LinuxClock();
  const maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const maxBuffered = options.maxBufferedBytes ?? 32 * 1024 * 1024;
  const clients = new Set<Client>();
  let lastStatus = JSON.stringify(journal.status());
  let closed = false;

  await removeStale(options.path);

  const hello = (): Hello => ({
    protocol: PROTOCOL_VERSION,
    node: journal.node,
    file: options.file,
    recovery: journal.recovery,
    status: journal.status(),
  });

  class Client {
    private readonly subs = new Map<number, Subscription>();
    private readonly splitter: LineSplitter;

    constructor(readonly socket: Socket) {
      this.splitter = new LineSplitter(
        maxLine,
        (line) => this.line(line),
        (bytes) =>
          this.send({
            id: null,
            error: toWire(
              new JournalError(
                'JOURNAL_INVALID_ARGUMENT',
                `journal socket request over ${maxLine} bytes (${bytes}+)`,
              ),
            ),
          }),
      );
      socket.on('data', (chunk: Buffer) => this.splitter.push(chunk));
      socket.on('error', () => {});
      socket.on('close', () => this.drop());
      this.send({ hello: hello() });
    }

    send(message: unknown): void {
      if (this.socket.destroyed) return;
      if (this.socket.writableLength > maxBuffered) {
        log('warn', `a client stopped reading (${this.socket.writableLength} bytes waiting): disconnected`);
        this.socket.destroy();
        return;
      }
      this.socket.write(`${JSON.stringify(message)}\n`);
    }

    drop(): void {
      for (const s of this.subs.values()) s.close();
      this.subs.clear();
      clients.delete(this);
    }

    private line(line: string): void {
      let req: Request;
      try {
        req = parseRequest(line);
      } catch (err) {
        this.send({ id: err instanceof BadRequest ? err.id : null, error: toWire(err) });
        return;
      }
      let answer: Promise<unknown>;
      try {
        answer = this.run(req);
      } catch (err) {
        answer = Promise.reject(err);
      }
      answer.then(
        (value) => this.send({ id: req.id, ok: value ?? null }),
        (err: unknown) => this.send({ id: req.id, error: toWire(err) }),
      );
    }

    private run(req: Request): Promise<unknown> {
      switch (req.op) {
        case 'status':
          return Promise.resolve(journal.status());
        case 'subscribe': {
          const [sub, opts] = req.args;
          if (typeof sub !== 'number' || !Number.isSafeInteger(sub)) {
            throw new JournalError(
              'JOURNAL_INVALID_ARGUMENT',
              `subscription id must be an integer, got ${sub}`,
            );
          }
          const o = subscribeOptions(opts);
          this.subs.get(sub)?.close();
          this.subs.set(
            sub,
            journal.subscribe((item: FeedItem) => this.send({ sub, item }), o),
          );
          return Promise.resolve(null);
        }
        case 'unsubscribe': {
          const sub = req.args[0];
          if (typeof sub === 'number') {
            this.subs.get(sub)?.close();
            this.subs.delete(sub);
          }
          return Promise.resolve(null);
        }
        default: {
          const method = req.op;
          try {
            options.onWrite?.(method, req.args);
          } catch (err) {
            log('warn', `onWrite hook threw: ${String(err)}`);
          }
          return WRITES[method](journal, req.args);
        }
      }
    }
  }

  /** Pushes the status to every client when it changed since the last push. */
  let statusSoon = false;
  const pushStatus = (): void => {
    if (closed || statusSoon) return;
    statusSoon = true;
    queueMicrotask(() => {
      statusSoon = false;
      if (closed) return;
      const now = journal.status();
      const text = JSON.stringify(now);
      if (text === lastStatus) return;
      lastStatus = text;
      for (const c of clients) c.send({ status: now });
    });
  };

  const server: Server = createServer((socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    clients.add(new Client(socket));
  });
  server.on('error', (err) => log('error', `journal socket ${options.path}: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => reject(ioError(err, `listening on journal socket ${options.path}`));
    server.once('error', fail);
    server.listen(options.path, () => {
      server.off('error', fail);
      resolve();
    });
  });

  const feed = journal.subscribe(() => pushStatus());
  const offs = [
    journal.on('role', pushStatus),
    journal.on('relation', pushStatus),
    journal.on('alarm', pushStatus),
  ];
  let timer: Timer | undefined;
  const every = options.statusEveryMs ?? 1000;
  const tick = (): void => {
    timer = clock.setTimer(every, () => {
      pushStatus();
      tick();
    });
  };
  tick();
  log('info', `journal socket listening on ${options.path}`);

  return {
    path: options.path,
    connections: () => clients.size,
    close: async () => {
      if (closed) return;
      closed = true;
      timer?.cancel();
      for (const off of offs) off();
      feed.close();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of [...clients]) {
        c.drop();
        c.socket.destroy();
      }
      await stopped;
      rmSync(options.path, { force: true });
    },
  };
}

/** Removes a socket file nobody answers on; refuses when a live server holds the path. */
async function removeStale(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) {
    throw new JournalError(
      'JOURNAL_INVALID_ARGUMENT',
      `journal socket path ${path} exists and is not a socket`,
    );
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new JournalError('JOURNAL_IO', `journal socket ${path} is served by another process`);
  rmSync(path, { force: true });
}
