import { randomBytes, randomInt } from 'node:crypto';
import { LinuxClock } from '../clock/linux.ts';
import type { Clock } from '../clock/types.ts';
import { HalError } from '../errors.ts';
import { decodeEchoReply, echoPayload, encodeEchoRequest, type IpFamily } from './codec.ts';
import { InFlight } from './inflight.ts';
import { type CheckedPing, startPing } from './ping-start.ts';
import { openIcmpSocket, type RawSocket } from './raw-socket.ts';
import { emptyStats } from './target.ts';
import type { Pinger, PingerStats, PingOptions, PingReply } from './types.ts';

export interface LinuxPingerOptions {
  clock?: Clock;
  /** The ICMP echo identifier; random by default so pingers in one namespace tell their replies apart. */
  identifier?: number;
  /** SO_RCVBUF for each socket, in bytes (default 1 MiB; the kernel caps it at net.core.rmem_max). */
  receiveBufferBytes?: number;
}

/**
 * ICMP echo on raw sockets (the raw-socket addon), one per address family, opened at the first ping of
 * that family. The network namespace of the process decides where pings go. Receiving is paused while
 * nothing is in flight, so an idle pinger costs nothing and does not hold the event loop open.
 */
export class LinuxPinger implements Pinger {
  private readonly clock: Clock;
  private readonly identifier: number;
  private readonly receiveBufferBytes: number;
  private readonly cookie = randomBytes(8);
  private readonly sockets = new Map<IpFamily, RawSocket>();
  private readonly counters: PingerStats;
  private readonly inflight: InFlight;
  private closed = false;

  constructor(options: LinuxPingerOptions = {}) {
    const identifier = options.identifier ?? randomInt(0, 0x10000);
    if (!Number.isInteger(identifier) || identifier < 0 || identifier > 0xffff) {
      throw new HalError(
        'HAL_INVALID_ARGUMENT',
        `ICMP identifier must be an integer 0..65535, got ${identifier}`,
        {
          device: 'icmp',
        },
      );
    }
    this.clock = options.clock ?? new LinuxClock();
    this.identifier = identifier;
    this.receiveBufferBytes = options.receiveBufferBytes ?? 1 << 20;
    this.counters = emptyStats(identifier);
    this.inflight = new InFlight(this.clock, this.counters, randomInt(0, 0x10000));
  }

  ping(address: string, options: PingOptions): Promise<PingReply> {
    return startPing(this.closed, address, options, (ping) => this.send(ping));
  }

  private send({ target, timeoutMs, payloadBytes, signal }: CheckedPing): Promise<PingReply> {
    const socket = this.socket(target.family);
    const sequence = this.inflight.allocate(target);
    const payload = echoPayload(payloadBytes, this.cookie, sequence);
    const request = encodeEchoRequest(target.family, { identifier: this.identifier, sequence, payload });
    const { flight, promise } = this.inflight.start(target, sequence, payload, timeoutMs, signal);
    if (socket.recvPaused) socket.resumeRecv();
    socket.send(
      request,
      0,
      request.length,
      target.address,
      () => {
        flight.sentAt = this.clock.now();
      },
      (err) => {
        if (err === null) {
          this.counters.sent++;
          return;
        }
        this.counters.sendErrors++;
        this.inflight.reject(
          flight,
          new HalError('HAL_IO', `cannot send an echo request to ${target.address}: ${err.message}`, {
            device: `icmp:${target.address}`,
            cause: err,
          }),
        );
      },
    );
    void promise.then(
      () => this.pauseWhenIdle(target.family),
      () => this.pauseWhenIdle(target.family),
    );
    return promise;
  }

  stats(): PingerStats {
    return { ...this.counters, ignored: { ...this.counters.ignored } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.inflight.cancelAll();
    for (const family of [...this.sockets.keys()].reverse()) this.drop(family);
  }

  private socket(family: IpFamily): RawSocket {
    const existing = this.sockets.get(family);
    if (existing !== undefined) return existing;
    const socket = openIcmpSocket(family, this.receiveBufferBytes);
    socket.on('message', (packet, source) => this.receive(family, packet, source));
    socket.on('error', (err) => this.fail(family, err));
    this.sockets.set(family, socket);
    return socket;
  }

  private receive(family: IpFamily, packet: Buffer, source: string): void {
    const decoded = decodeEchoReply(family, packet);
    if (!decoded.ok) {
      this.counters.ignored[decoded.reason]++;
      return;
    }
    const { echo } = decoded;
    if (echo.identifier !== this.identifier) {
      this.counters.ignored.foreign++;
      return;
    }
    const flight = this.inflight.find(family, echo.sequence);
    if (flight === undefined || flight.address !== source) {
      this.counters.ignored.unmatched++;
      return;
    }
    if (!flight.payload.equals(echo.payload)) {
      this.counters.ignored['payload-mismatch']++;
      return;
    }
    this.inflight.reply(flight, decoded.ttl);
  }

  /** A socket error ends that socket: its pings fail with HAL_IO and the next ping opens a new one. */
  private fail(family: IpFamily, err: Error): void {
    this.drop(family);
    this.inflight.rejectAll(
      (flight) =>
        new HalError('HAL_IO', `raw ICMP socket failed while pinging ${flight.address}: ${err.message}`, {
          device: `icmp:${flight.address}`,
          cause: err,
        }),
      family,
    );
  }

  private drop(family: IpFamily): void {
    const socket = this.sockets.get(family);
    if (socket === undefined) return;
    this.sockets.delete(family);
    socket.removeAllListeners();
    // The addon emits 'error' for a failing close too; nothing is listening for this socket any more.
    socket.on('error', () => {});
    socket.close();
  }

  private pauseWhenIdle(family: IpFamily): void {
    const socket = this.sockets.get(family);
    if (socket !== undefined && this.inflight.size(family) === 0 && !socket.recvPaused) socket.pauseRecv();
  }
}
