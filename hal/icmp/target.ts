/**
 * The argument checks both pingers share, so they reject exactly the same input with the same words.
 */
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import { HalError } from '../errors.ts';
import type { IpFamily } from './codec.ts';
import type { PingerStats, PingOptions } from './types.ts';

export const DEFAULT_PAYLOAD_BYTES = 56;
export const MAX_PAYLOAD_BYTES = 65000;
export const MAX_TIMEOUT_MS = 600_000;

export interface Target {
  family: IpFamily;
  /** The address as the socket reports a reply's source (IPv6 in RFC 5952 form). */
  address: string;
}

export interface CheckedOptions {
  timeoutMs: number;
  payloadBytes: number;
}

function invalid(address: string, why: string): HalError {
  return new HalError('HAL_INVALID_ARGUMENT', `cannot ping ${JSON.stringify(address)}: ${why}`, {
    device: `icmp:${address}`,
  });
}

export function parseTarget(address: unknown): Target {
  if (typeof address !== 'string') throw invalid(String(address), 'the address must be a string');
  if (isIPv4(address)) {
    const first = Number(address.split('.')[0]);
    if (address === '0.0.0.0') throw invalid(address, 'the unspecified address cannot be pinged');
    if (address === '255.255.255.255') throw invalid(address, 'broadcast addresses cannot be pinged');
    if (first >= 224 && first <= 239) throw invalid(address, 'multicast addresses cannot be pinged');
    return { family: 4, address };
  }
  if (isIPv6(address)) {
    if (address.includes('%'))
      throw invalid(address, 'scoped IPv6 addresses (with a %zone) are not supported');
    const canonical = new SocketAddress({ address, family: 'ipv6' }).address;
    if (canonical === '::') throw invalid(address, 'the unspecified address cannot be pinged');
    if (canonical.startsWith('ff')) throw invalid(address, 'multicast addresses cannot be pinged');
    if (canonical.startsWith('::ffff:'))
      throw invalid(address, 'IPv4-mapped addresses: ping the IPv4 address');
    return { family: 6, address: canonical };
  }
  throw invalid(address, 'not an IPv4 or IPv6 address literal');
}

export function checkOptions(address: string, options: PingOptions | undefined): CheckedOptions {
  const timeoutMs = options?.timeoutMs;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalid(address, `timeoutMs must be a finite number > 0, got ${String(timeoutMs)}`);
  }
  if (timeoutMs > MAX_TIMEOUT_MS) {
    throw invalid(address, `timeoutMs must be at most ${MAX_TIMEOUT_MS}, got ${timeoutMs}`);
  }
  const payloadBytes = options?.payloadBytes ?? DEFAULT_PAYLOAD_BYTES;
  if (!Number.isInteger(payloadBytes) || payloadBytes < 0 || payloadBytes > MAX_PAYLOAD_BYTES) {
    throw invalid(address, `payloadBytes must be an integer 0..${MAX_PAYLOAD_BYTES}, got ${payloadBytes}`);
  }
  return { timeoutMs, payloadBytes };
}

/** Counters as both pingers keep them, all at zero. */
export function emptyStats(identifier: number): PingerStats {
  return {
    identifier,
    sent: 0,
    replies: 0,
    timeouts: 0,
    canceled: 0,
    sendErrors: 0,
    ignored: {
      truncated: 0,
      malformed: 0,
      'bad-checksum': 0,
      'not-echo-reply': 0,
      foreign: 0,
      unmatched: 0,
      'payload-mismatch': 0,
    },
  };
}
