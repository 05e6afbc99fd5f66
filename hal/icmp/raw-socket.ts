/**
 * A typed view of the `raw-socket` addon (it ships no types), narrowed to what the pinger uses, plus the
 * kernel ICMP filters that keep echo requests, unreachables and neighbour discovery off the socket.
 */
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { HalError } from '../errors.ts';
import { ICMP_ECHO_REPLY, ICMPV6_ECHO_REPLY, type IpFamily } from './codec.ts';

export interface RawSocket {
  on(event: 'message', listener: (packet: Buffer, source: string) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'close', listener: () => void): this;
  removeAllListeners(): this;
  send(
    buffer: Buffer,
    offset: number,
    length: number,
    address: string,
    beforeSend: () => void,
    afterSend: (err: Error | null, bytes: number) => void,
  ): this;
  setOption(level: number, option: number, value: number): void;
  setOption(level: number, option: number, value: Buffer, length: number): void;
  pauseRecv(): this;
  resumeRecv(): this;
  readonly recvPaused: boolean;
  close(): this;
}

interface RawSocketModule {
  createSocket(options: { addressFamily: number; protocol: number; bufferSize: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
  Protocol: { ICMP: number; ICMPv6: number };
  SocketLevel: { SOL_SOCKET: number };
  SocketOption: { SO_RCVBUF: number };
}

const require = createRequire(import.meta.url);

// Linux constants raw-socket does not export (linux/in.h, linux/icmp.h, linux/icmpv6.h).
const SOL_RAW = 255;
const ICMP_FILTER = 1;
const IPPROTO_ICMPV6 = 58;
const ICMPV6_FILTER = 1;

/** Room for the largest IP packet. */
const RECEIVE_BUFFER_BYTES = 65_536;

/** Node's module cache makes this cheap after the first call. */
function load(): RawSocketModule {
  return require('raw-socket') as RawSocketModule;
}

/**
 * Opens a raw ICMP (or ICMPv6) socket that the kernel lets only echo replies through, with a receive
 * buffer of `receiveBufferBytes` (the kernel caps it at net.core.rmem_max).
 */
export function openIcmpSocket(family: IpFamily, receiveBufferBytes: number): RawSocket {
  const raw = load();
  let socket: RawSocket;
  try {
    socket = raw.createSocket({
      addressFamily: family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
      protocol: family === 4 ? raw.Protocol.ICMP : raw.Protocol.ICMPv6,
      bufferSize: RECEIVE_BUFFER_BYTES,
    });
  } catch (err) {
    throw openError(family, err);
  }
  try {
    socket.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_RCVBUF, receiveBufferBytes);
    if (family === 4) {
      // A set bit blocks that ICMP type; types >= 32 always pass.
      socket.setOption(SOL_RAW, ICMP_FILTER, ~(1 << ICMP_ECHO_REPLY) >>> 0);
    } else {
      socket.setOption(IPPROTO_ICMPV6, ICMPV6_FILTER, icmpv6PassOnly(ICMPV6_ECHO_REPLY), 32);
    }
  } catch (err) {
    socket.close();
    throw openError(family, err);
  }
  return socket;
}

/** struct icmp6_filter: 256 bits in host-order 32-bit words, a set bit blocks that type. */
function icmpv6PassOnly(type: number): Buffer {
  const filter = Buffer.alloc(32, 0xff);
  const index = type >>> 5;
  const word = (0xffffffff & ~(1 << (type & 31))) >>> 0;
  if (endianness() === 'LE') filter.writeUInt32LE(word, index * 4);
  else filter.writeUInt32BE(word, index * 4);
  return filter;
}

function openError(family: IpFamily, err: unknown): HalError {
  const device = family === 4 ? 'icmp:ipv4' : 'icmp:ipv6';
  const detail = err instanceof Error ? err.message : String(err);
  // The addon throws plain Errors carrying strerror() text and no errno code.
  const code = /not permitted|permission denied/i.test(detail)
    ? 'HAL_PERMISSION'
    : /not supported/i.test(detail)
      ? 'HAL_UNSUPPORTED'
      : 'HAL_IO';
  return new HalError(code, `cannot open a raw ${device} socket: ${detail}`, { device, cause: err });
}
