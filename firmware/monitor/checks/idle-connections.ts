/**
 * Kept-alive probe connections between probes, by origin (address and port), for checks that ask for
 * keepAlive (Envoy's reuse_connection). One per monitor, closed with it. A connection waiting here is
 * dropped when the server closes it or sends anything, and when it has waited longer than `idleLimitMs`
 * (its check was removed, or probes too far apart to be worth holding a server's connection for).
 */
import type { Clock, Timer } from '../../../hal/clock/types.ts';
import type { ExchangeOwner, TcpExchange } from './tcp-handle.ts';

/** Holds a connection while it waits; whatever the connection says meanwhile ends its wait. */
class Waiting implements ExchangeOwner {
  constructor(
    private readonly pool: IdleConnections,
    readonly origin: string,
    readonly exchange: TcpExchange,
    readonly since: number,
  ) {}

  connected(): undefined {
    return undefined;
  }

  data(): void {
    this.pool.drop(this);
  }

  ended(): void {
    this.pool.drop(this);
  }

  failed(): void {
    this.pool.drop(this);
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

  /** The connection to `origin` that waited least, handed to `owner`. */
  take(origin: string, owner: ExchangeOwner): TcpExchange | undefined {
    const list = this.byOrigin.get(origin);
    const w = list?.pop();
    if (w === undefined) return undefined;
    this.count--;
    if (list?.length === 0) this.byOrigin.delete(origin);
    w.exchange.owner = owner;
    return w.exchange;
  }

  /** Keeps an open, connected exchange with nothing pending on it for the next probe of `origin`. */
  put(origin: string, exchange: TcpExchange): void {
    const w = new Waiting(this, origin, exchange, this.clock.now());
    exchange.owner = w;
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
    w.exchange.close();
  }

  /** Closes every waiting connection. */
  closeAll(): void {
    this.sweep?.cancel();
    this.sweep = undefined;
    for (const list of this.byOrigin.values()) for (const w of list) w.exchange.close();
    this.byOrigin.clear();
    this.count = 0;
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
