/**
 * ICMP echo encoding and decoding, with no socket: the Linux pinger sends what `encodeEchoRequest` builds
 * and feeds every received packet to `decodeEchoReply`. Decoding never throws: whatever arrives is either
 * an echo reply or a reason to ignore it, which the pinger counts.
 */
import type { IgnoreReason } from './types.ts';

export type IpFamily = 4 | 6;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMP_HEADER_BYTES = 8;
const IPV4_PROTOCOL_ICMP = 1;

export interface Echo {
  identifier: number;
  sequence: number;
  payload: Buffer;
}

export type DecodeResult = { ok: true; echo: Echo; ttl?: number } | { ok: false; reason: IgnoreReason };

/** The Internet checksum (RFC 1071): the one's complement of the one's complement sum of 16-bit words. */
export function internetChecksum(data: Uint8Array): number {
  let sum = 0;
  const even = data.length & ~1;
  for (let i = 0; i < even; i += 2) sum += ((data[i] as number) << 8) | (data[i + 1] as number);
  if (even !== data.length) sum += (data[even] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * An echo request: type, code 0, checksum, identifier, sequence, payload. For IPv4 the checksum is filled
 * in; for IPv6 it stays 0 because it covers a pseudo-header with the source address, which only the kernel
 * knows, and Linux computes it on every raw ICMPv6 socket.
 */
export function encodeEchoRequest(family: IpFamily, echo: Echo): Buffer {
  checkField('identifier', echo.identifier);
  checkField('sequence', echo.sequence);
  const message = Buffer.alloc(ICMP_HEADER_BYTES + echo.payload.length);
  message[0] = family === 4 ? ICMP_ECHO_REQUEST : ICMPV6_ECHO_REQUEST;
  message.writeUInt16BE(echo.identifier, 4);
  message.writeUInt16BE(echo.sequence, 6);
  echo.payload.copy(message, ICMP_HEADER_BYTES);
  if (family === 4) message.writeUInt16BE(internetChecksum(message), 2);
  return message;
}

function checkField(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new RangeError(`ICMP echo ${name} must be an integer 0..65535, got ${value}`);
  }
}

/**
 * Echo data of `size` bytes: an 8-byte cookie (repeated/truncated as needed) then a counting pattern
 * offset by the sequence, so a reply echoing another request's data is told apart.
 */
export function echoPayload(size: number, cookie: Uint8Array, sequence: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) {
    out[i] = i < cookie.length ? (cookie[i] as number) : (i + sequence) & 0xff;
  }
  return out;
}

/**
 * Decodes what a raw socket received: for IPv4 the whole IP packet (Linux raw sockets keep the header),
 * for IPv6 the ICMPv6 message alone (the kernel strips the header and has already verified the checksum).
 */
export function decodeEchoReply(family: IpFamily, packet: Buffer): DecodeResult {
  if (family === 6) return decodeIcmp(packet, 6);
  const ip = packet;
  if (ip.length < 20) return { ok: false, reason: 'truncated' };
  const version = (ip[0] as number) >>> 4;
  const headerBytes = ((ip[0] as number) & 0x0f) * 4;
  if (version !== 4 || headerBytes < 20) return { ok: false, reason: 'malformed' };
  if (ip[9] !== IPV4_PROTOCOL_ICMP) return { ok: false, reason: 'malformed' };
  const totalLength = ip.readUInt16BE(2);
  if (totalLength < headerBytes) return { ok: false, reason: 'malformed' };
  if (ip.length < totalLength) return { ok: false, reason: 'truncated' };
  const result = decodeIcmp(ip.subarray(headerBytes, totalLength), 4);
  return result.ok ? { ...result, ttl: ip[8] as number } : result;
}

function decodeIcmp(message: Buffer, family: IpFamily): DecodeResult {
  if (message.length < ICMP_HEADER_BYTES) return { ok: false, reason: 'truncated' };
  if (family === 4 && internetChecksum(message) !== 0) return { ok: false, reason: 'bad-checksum' };
  if (message[0] !== (family === 4 ? ICMP_ECHO_REPLY : ICMPV6_ECHO_REPLY)) {
    return { ok: false, reason: 'not-echo-reply' };
  }
  if (message[1] !== 0) return { ok: false, reason: 'malformed' };
  return {
    ok: true,
    echo: {
      identifier: message.readUInt16BE(4),
      sequence: message.readUInt16BE(6),
      payload: message.subarray(ICMP_HEADER_BYTES),
    },
  };
}
