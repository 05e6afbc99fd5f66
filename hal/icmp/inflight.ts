/**
 * The pings in flight, as both pingers keep them: one entry per (family, sequence), each with its timeout
 * timer and abort listener, released on every way out (reply, timeout, abort, send error, close).
 */
import type { Clock, Timer } from '../clock/types.ts';
import { abortError, HalError } from '../errors.ts';
import type { IpFamily } from './codec.ts';
import type { Target } from './target.ts';
import type { PingerStats, PingReply } from './types.ts';

export interface Flight {
  readonly family: IpFamily;
  readonly sequence: number;
  readonly address: string;
  readonly payload: Buffer;
  /** When ping() was called (clock ms). */
  readonly startedAt: number;
  /** When the request left the socket; the RTT counts from here. */
  sentAt: number | undefined;
  settled: boolean;
}

interface Entry extends Flight {
  resolve: (reply: PingReply) => void;
  reject: (err: Error) => void;
  timer: Timer;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

const SEQUENCES = 0x10000;

export class InFlight {
  private readonly entries = new Map<number, Entry>();
  private readonly counts: Record<IpFamily, number> = { 4: 0, 6: 0 };
  private readonly nextSequence: Record<IpFamily, number>;

  constructor(
    private readonly clock: Clock,
    private readonly stats: PingerStats,
    firstSequence: number,
  ) {
    this.nextSequence = { 4: firstSequence & 0xffff, 6: firstSequence & 0xffff };
  }

  /** Pings in flight for `family`. */
  size(family: IpFamily): number {
    return this.counts[family];
  }

  /** A free sequence number for `family`, or HAL_BUSY when every one is in flight. */
  allocate(target: Target): number {
    if (this.counts[target.family] >= SEQUENCES) {
      throw new HalError('HAL_BUSY', `all ${SEQUENCES} ICMP sequence numbers are in flight`, {
        device: `icmp:${target.address}`,
      });
    }
    let sequence = this.nextSequence[target.family];
    while (this.entries.has(key(target.family, sequence))) sequence = (sequence + 1) & 0xffff;
    this.nextSequence[target.family] = (sequence + 1) & 0xffff;
    return sequence;
  }

  /** Registers a ping; the promise settles exactly once, by resolve(), reject(), its timeout or its signal. */
  start(
    target: Target,
    sequence: number,
    payload: Buffer,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): { flight: Flight; promise: Promise<PingReply> } {
    let resolve!: (reply: PingReply) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<PingReply>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const device = `icmp:${target.address}`;
    const entry: Entry = {
      family: target.family,
      sequence,
      address: target.address,
      payload,
      startedAt: this.clock.now(),
      sentAt: undefined,
      settled: false,
      resolve,
      reject,
      signal,
      timer: this.clock.setTimer(timeoutMs, () => {
        this.stats.timeouts++;
        this.reject(
          entry,
          new HalError('HAL_TIMEOUT', `no echo reply from ${target.address} within ${timeoutMs} ms`, {
            device,
          }),
        );
      }),
      onAbort: () => {
        this.stats.canceled++;
        this.reject(entry, abortError(signal as AbortSignal, device));
      },
    };
    this.entries.set(key(target.family, sequence), entry);
    this.counts[target.family]++;
    signal?.addEventListener('abort', entry.onAbort, { once: true });
    return { flight: entry, promise };
  }

  /** The unsettled ping with this family and sequence. */
  find(family: IpFamily, sequence: number): Flight | undefined {
    return this.entries.get(key(family, sequence));
  }

  /** Resolves `flight` with a reply received now. */
  reply(flight: Flight, ttl: number | undefined): void {
    const entry = this.entries.get(key(flight.family, flight.sequence));
    if (entry === undefined || entry !== flight || entry.settled) return;
    this.release(entry);
    this.stats.replies++;
    const rttMs = Math.max(0, this.clock.now() - (entry.sentAt ?? entry.startedAt));
    entry.resolve(ttl === undefined ? { rttMs } : { rttMs, ttl });
  }

  reject(flight: Flight, err: Error): void {
    const entry = this.entries.get(key(flight.family, flight.sequence));
    if (entry === undefined || entry !== flight || entry.settled) return;
    this.release(entry);
    entry.reject(err);
  }

  /** Rejects every ping in flight (of `family`, or all) with the error `make` builds for it. */
  rejectAll(make: (flight: Flight) => Error, family?: IpFamily): void {
    for (const entry of [...this.entries.values()]) {
      if (family === undefined || entry.family === family) this.reject(entry, make(entry));
    }
  }

  /** Rejects every ping in flight with HAL_CANCELED, counting each: the pinger was closed. */
  cancelAll(): void {
    this.rejectAll((flight) => {
      this.stats.canceled++;
      return new HalError('HAL_CANCELED', `ping to ${flight.address} canceled: the pinger was closed`, {
        device: `icmp:${flight.address}`,
      });
    });
  }

  private release(entry: Entry): void {
    entry.settled = true;
    entry.timer.cancel();
    entry.signal?.removeEventListener('abort', entry.onAbort);
    this.entries.delete(key(entry.family, entry.sequence));
    this.counts[entry.family]--;
  }
}

function key(family: IpFamily, sequence: number): number {
  return family * SEQUENCES + sequence;
}
