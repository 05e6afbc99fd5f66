import type { Clock, Timer } from '../clock/types.ts';
import { HalError } from '../errors.ts';
import type { Rng } from '../sim/rng.ts';
import { InFlight } from './inflight.ts';
import { type CheckedPing, startPing } from './ping-start.ts';
import { emptyStats, parseTarget } from './target.ts';
import type { Pinger, PingerStats, PingOptions, PingReply } from './types.ts';

/** How a simulated address answers pings. */
export interface HostBehaviour {
  /** Round-trip time in ms (default 1). */
  rttMs?: number;
  /** Each RTT is drawn uniformly from rttMs ± jitterMs, never below 0 (default 0). */
  jitterMs?: number;
  /** Probability 0..1 that a request or its reply is lost (default 0). */
  loss?: number;
  /** TTL the replies carry; IPv6 replies carry none (default 64). */
  ttl?: number;
}

type HostState = { kind: 'up'; behaviour: Required<HostBehaviour> } | { kind: 'down' } | { kind: 'no-route' };

/**
 * A pinger in a simulated world: reachability per address is set by the test, replies arrive on the
 * world's Clock, losses and jitter come from the world's Rng. Addresses never configured are down (pings
 * time out). It rejects exactly what LinuxPinger rejects, with the same codes.
 */
export class SimPinger implements Pinger {
  private readonly hosts = new Map<string, HostState>();
  private readonly deliveries = new Set<Timer>();
  private readonly counters: PingerStats;
  private readonly inflight: InFlight;
  private closed = false;

  constructor(private readonly world: { clock: Clock; rng: Rng; identifier?: number }) {
    const identifier = world.identifier ?? world.rng.int(0, 0xffff);
    this.counters = emptyStats(identifier);
    this.inflight = new InFlight(world.clock, this.counters, world.rng.int(0, 0xffff));
  }

  /** Test hook: `address` answers pings as `behaviour` says. */
  setUp(address: string, behaviour: HostBehaviour = {}): void {
    const full: Required<HostBehaviour> = { rttMs: 1, jitterMs: 0, loss: 0, ttl: 64, ...behaviour };
    for (const [field, value, max] of [
      ['rttMs', full.rttMs, Number.POSITIVE_INFINITY],
      ['jitterMs', full.jitterMs, Number.POSITIVE_INFINITY],
      ['loss', full.loss, 1],
      ['ttl', full.ttl, 255],
    ] as const) {
      if (!Number.isFinite(value) || value < 0 || value > max) {
        throw new HalError(
          'HAL_INVALID_ARGUMENT',
          `sim host ${address}: ${field} must be 0..${max}, got ${value}`,
          {
            device: `icmp:${address}`,
          },
        );
      }
    }
    this.hosts.set(parseTarget(address).address, { kind: 'up', behaviour: full });
  }

  /** Test hook: `address` is silent (pings time out). */
  setDown(address: string): void {
    this.hosts.set(parseTarget(address).address, { kind: 'down' });
  }

  /** Test hook: there is no route to `address` (pings fail with HAL_IO as the send fails). */
  setNoRoute(address: string): void {
    this.hosts.set(parseTarget(address).address, { kind: 'no-route' });
  }

  ping(address: string, options: PingOptions): Promise<PingReply> {
    return startPing(this.closed, address, options, (ping) => this.send(ping));
  }

  private send({ target, timeoutMs, payloadBytes, signal }: CheckedPing): Promise<PingReply> {
    const sequence = this.inflight.allocate(target);
    const { flight, promise } = this.inflight.start(
      target,
      sequence,
      Buffer.alloc(payloadBytes),
      timeoutMs,
      signal,
    );
    flight.sentAt = this.world.clock.now();
    const host = this.hosts.get(target.address) ?? { kind: 'down' };
    if (host.kind === 'no-route') {
      this.counters.sendErrors++;
      queueMicrotask(() =>
        this.inflight.reject(
          flight,
          new HalError('HAL_IO', `cannot send an echo request to ${target.address}: Network is unreachable`, {
            device: `icmp:${target.address}`,
          }),
        ),
      );
      return promise;
    }
    this.counters.sent++;
    if (host.kind === 'down') return promise;
    const { rttMs, jitterMs, loss, ttl } = host.behaviour;
    if (this.world.rng.chance(loss)) return promise;
    const rtt = Math.max(0, rttMs + jitterMs * (this.world.rng.float() * 2 - 1));
    const timer = this.world.clock.setTimer(rtt, () => {
      this.deliveries.delete(timer);
      if (flight.settled) this.counters.ignored.unmatched++;
      else this.inflight.reply(flight, target.family === 4 ? ttl : undefined);
    });
    this.deliveries.add(timer);
    return promise;
  }

  stats(): PingerStats {
    return { ...this.counters, ignored: { ...this.counters.ignored } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.inflight.cancelAll();
    for (const timer of this.deliveries) timer.cancel();
    this.deliveries.clear();
  }
}
