/**
 * Kept-alive probe connections between probes, by origin, for checks that ask for keepAlive (Envoy's
 * reuse_connection): bare TCP exchanges (plain HTTP) and sockets (HTTPS, or plain HTTP on a Node without
 * the tcp_wrap binding), never mixed under one origin. One per monitor, closed with it. A connection
 * waiting here is dropped when the server closes it or sends anything, and when it has waited longer than
 * `idleLimitMs` (its check was removed, or probes too far apart to be worth holding a server's connection).
 */
import type { Socket } from 'node:net';
import type { Clock, Timer } from '../../../hal/clock/types.ts';
import { closeHard } from './net-util.ts';
import { type ExchangeOwner, TcpExchange } from './tcp-handle.ts';

type Connection = TcpExchange | Socket;

const SOCKET_EVENTS = ['data', 'end', 'error', 'close'] as const;

/** Holds a connection while it waits; whatever the connection says meanwhile ends its wait. */
class Waiting implements ExchangeOwner {
  constructor(
    private readonly pool: IdleConnections,
    readonly origin: string,
    readonly connection: Connection,
    readonly since: number,
  ) {}

  readonly gone = (): void => this.pool.drop(this);

  connected(): undefined {
    return undefined;
  }

  data(): void {
    this.gone();
  }

  ended(): void {
    this.gone();
  }

  failed(): void {
    this.gone();
  }
}

export class IdleConnections {
  private readonly byOrigin = new Map<string, Waiting[]>();
  private count = 0;
  private sweep: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    readonly idleLimitMs = 10_000,
  ) {}

  /** Connections waiting now. */
  get size(): number {
    return this.count;
  }

  /** The exchange to `origin` that waited least, handed to `owner`. */
  takeExchange(origin: string, owner: ExchangeOwner): TcpExchange | undefined {
    const c = this.take(origin);
    if (c === undefined || !(c instanceof TcpExchange)) return mismatch(c);
    c.owner = owner;
    return c;
  }

  /** The socket to `origin` that waited least, without the pool's listeners: the caller adds its own. */
  takeSocket(origin: string): Socket | undefined {
    const c = this.take(origin);
    return c instanceof TcpExchange ? mismatch(c) : c;
  }

  /** Keeps an open connection with nothing pending on it for the next probe of `origin`. */
  put(origin: string, connection: Connection): void {
    const w = new Waiting(this, origin, connection, this.clock.now());
    if (connection instanceof TcpExchange) connection.owner = w;
    else for (const event of SOCKET_EVENTS) connection.on(event, w.gone);
    const list = this.byOrigin.get(origin);
    if (list === undefined) this.byOrigin.set(origin, [w]);
    else list.push(w);
    this.count++;
    this.sweep ??= this.clock.setTimer(this.idleLimitMs / 2, this.expire);
  }

  /** Closes a waiting connection (the server closed it, or said something unasked). */
  drop(w: Waiting): void {
    const list = this.byOrigin.get(w.origin);
    const at = list?.indexOf(w) ?? -1;
    if (list === undefined || at < 0) return;
    list.splice(at, 1);
    if (list.length === 0) this.byOrigin.delete(w.origin);
    this.count--;
    close(w.connection);
  }

  /** Closes every waiting connection. */
  closeAll(): void {
    this.sweep?.cancel();
    this.sweep = undefined;
    for (const list of this.byOrigin.values()) for (const w of list) close(w.connection);
    this.byOrigin.clear();
    this.count = 0;
  }

  /** The connection to `origin` that waited least, out of the pool and unwatched. */
  private take(origin: string): Connection | undefined {
    const list = this.byOrigin.get(origin);
    const w = list?.pop();
    if (w === undefined) return undefined;
    this.count--;
    if (list?.length === 0) this.byOrigin.delete(origin);
    const c = w.connection;
    if (!(c instanceof TcpExchange)) for (const event of SOCKET_EVENTS) c.off(event, w.gone);
    return c;
  }

  private readonly expire = (): void => {
    this.sweep = undefined;
    const oldest = this.clock.now() - this.idleLimitMs;
    for (const list of [...this.byOrigin.values()]) {
      for (const w of list.filter((x) => x.since <= oldest)) this.drop(w);
    }
    if (this.count > 0) this.sweep = this.clock.setTimer(this.idleLimitMs / 2, this.expire);
  };
}

/** A connection of the other kind under the origin asked for (a caller's bug): closed, not handed out. */
function mismatch(c: Connection | undefined): undefined {
  if (c !== undefined) close(c);
  return undefined;
}

function close(c: Connection): void {
  if (c instanceof TcpExchange) c.close();
  else closeHard(c);
}
