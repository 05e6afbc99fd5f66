/**
 * The Ethernet link: unicast UDP on the dedicated heartbeat NIC (node:dgram), bound to this node's
 * heartbeat address and sending to the peer's; one datagram carries one frame. Datagrams from any other
 * address are dropped unread. If the bind fails (the address is not configured yet) or the socket
 * fails, the link rebinds every `rebindMs`.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Clock, Timer } from '../../../hal/clock/types.ts';
import { decodeDatagram, FrameParser } from '../codec.ts';
import { copyCounters, countErrors, newCounters } from './counters.ts';
import type { FrameSink, HeartbeatLink, LinkLog, LinkStats } from './types.ts';

export interface UdpLinkOptions {
  /** This node's heartbeat address. */
  local: string;
  /** The peer's heartbeat address. */
  peer: string;
  /** The UDP port, the same on both nodes. */
  port: number;
  key: Uint8Array;
  clock: Clock;
  sink: FrameSink;
  log?: LinkLog;
  /** Default 250. */
  rebindMs?: number;
}

const text = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function startUdpLink(options: UdpLinkOptions): HeartbeatLink {
  return new UdpLink(options);
}

class UdpLink implements HeartbeatLink {
  readonly name = 'eth' as const;
  private readonly o: UdpLinkOptions;
  private readonly counters = newCounters();
  private socket: Socket | undefined;
  private bound = false;
  private timer: Timer | undefined;
  private closed = false;
  private lastError: string | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: UdpLinkOptions) {
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      throw new RangeError(`udp link port should be an integer from 1 to 65535, instead got ${options.port}`);
    }
    new FrameParser(options.key); // validates the key now
    this.o = options;
    this.bind();
  }

  send(frame: Buffer): void {
    const socket = this.socket;
    if (socket === undefined || !this.bound) {
      this.counters.drops.notOpen += 1;
      return;
    }
    socket.send(frame, this.o.port, this.o.peer, (err) => {
      if (err) {
        this.counters.drops.sendFailed += 1;
        this.note(`send failed: ${text(err)}`);
      } else this.counters.framesOut += 1;
    });
  }

  stats(): LinkStats {
    return {
      name: this.name,
      open: this.bound,
      medium: `${this.o.local} -> ${this.o.peer}:${this.o.port}`,
      lastError: this.lastError,
      counters: copyCounters(this.counters),
    };
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.closed = true;
      this.timer?.cancel();
      const socket = this.socket;
      this.socket = undefined;
      this.bound = false;
      if (socket === undefined) resolve();
      else socket.close(() => resolve());
    });
    return this.closing;
  }

  private note(message: string): void {
    if (this.lastError !== message) this.o.log?.('warn', `udp link ${this.o.local}: ${message}`);
    this.lastError = message;
  }

  private bind(): void {
    if (this.closed) return;
    const socket = createSocket({ type: isIPv6(this.o.local) ? 'udp6' : 'udp4' });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo.address));
    socket.on('error', (err) => {
      this.note(`socket error: ${text(err)}`);
      this.restart(socket);
    });
    socket.bind({ address: this.o.local, port: this.o.port, exclusive: true }, () => {
      if (this.socket !== socket) return;
      this.bound = true;
      this.counters.opens += 1;
      if (this.lastError !== undefined) this.o.log?.('info', `udp link ${this.o.local}: bound again`);
      this.lastError = undefined;
    });
  }

  private restart(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.bound = false;
    try {
      socket.close();
    } catch {
      // already closed by the failed bind
    }
    if (this.closed) return;
    this.timer = this.o.clock.setTimer(this.o.rebindMs ?? 250, () => {
      this.timer = undefined;
      this.bind();
    });
  }

  private receive(msg: Buffer, from: string): void {
    if (from !== this.o.peer) {
      this.counters.drops.foreign += 1;
      return;
    }
    this.counters.bytesIn += msg.length;
    const { frames, errors } = decodeDatagram(msg, this.o.key);
    countErrors(this.counters, errors);
    for (const hb of frames) {
      this.counters.framesIn += 1;
      try {
        this.o.sink(hb);
      } catch (err) {
        this.o.log?.('error', `udp link: the frame sink threw: ${text(err)}`);
      }
    }
  }
}
