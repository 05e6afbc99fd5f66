/**
 * IP address arithmetic for both net drivers: parse, canonical text (the form iproute2 prints), prefix
 * masks. Pure functions; values are BigInts so IPv4 and IPv6 share one code path.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Family } from './types.ts';

export interface ParsedIp {
  family: Family;
  /** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run compressed). */
  address: string;
  value: bigint;
}

export const familyBits = (family: Family): number => (family === 'inet' ? 32 : 128);

/** The address, or undefined when `text` is not a plain IPv4/IPv6 address (no zone, no prefix). */
export function parseIp(text: string): ParsedIp | undefined {
  if (isIPv4(text)) {
    const value = text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { family: 'inet', address: formatIp('inet', value), value };
  }
  if (isIPv6(text) && !text.includes('%')) {
    const value = ipv6Value(text);
    return { family: 'inet6', address: formatIp('inet6', value), value };
  }
  return undefined;
}

function ipv6Value(text: string): bigint {
  let body = text.toLowerCase();
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (dotted?.[1] !== undefined) {
    const v4 = dotted[1].split('.').map(Number);
    tail.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    body = body.slice(0, -dotted[1].length);
    if (body.endsWith(':') && !body.endsWith('::')) body = body.slice(0, -1);
  }
  const [head = '', rest] = body.split('::');
  const toGroups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const left = toGroups(head);
  const right = [...toGroups(rest ?? ''), ...tail];
  const zeros = rest === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...new Array<number>(zeros).fill(0), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

export function formatIp(family: Family, value: bigint): string {
  if (family === 'inet') {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  }
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => Number((value >> shift) & 0xffffn));
  // RFC 5952: compress the longest run of two or more zero groups (the first such run on a tie).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  // glibc's inet_ntop, which iproute2 prints with, keeps the dotted tail of ::a.b.c.d and ::ffff:a.b.c.d.
  if (bestStart === 0 && (bestLen === 6 || (bestLen === 5 && groups[5] === 0xffff))) {
    return `::${bestLen === 5 ? 'ffff:' : ''}${formatIp('inet', value & 0xffff_ffffn)}`;
  }
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** The mask of a prefix length, as a value of the family's width. */
export function prefixMask(family: Family, prefixLength: number): bigint {
  const bits = BigInt(familyBits(family));
  const host = bits - BigInt(prefixLength);
  return ((1n << bits) - 1n) ^ ((1n << host) - 1n);
}

/** The network address of `value` under `prefixLength`. */
export function networkOf(family: Family, value: bigint, prefixLength: number): bigint {
  return value & prefixMask(family, prefixLength);
}

/** True when `ip` lies inside `network/prefixLength` (same family). */
export function inSubnet(ip: ParsedIp, network: ParsedIp, prefixLength: number): boolean {
  return (
    ip.family === network.family &&
    networkOf(ip.family, ip.value, prefixLength) === networkOf(ip.family, network.value, prefixLength)
  );
}
