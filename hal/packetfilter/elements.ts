/**
 * Set and map element values as the simulated ruleset checks them: the few data types the forwarding
 * core uses are checked and put in nft's listed form (IPv4 integers become dotted quads, IPv6 addresses
 * become RFC 5952 text); other types are taken as given. Service names are not resolved.
 */
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import type { JsonValue } from './types.ts';
import { isObject, soleKey } from './validate.ts';

/** Why a value was refused, in nft's words. */
export class ElementError extends Error {}

const VERDICTS = new Set(['accept', 'drop', 'continue', 'return', 'jump', 'goto']);

export function canonicalValue(type: string | string[], value: JsonValue, interval: boolean): JsonValue {
  if (Array.isArray(type)) return value;
  switch (type) {
    case 'ipv4_addr':
      return address(4, value, interval);
    case 'ipv6_addr':
      return address(6, value, interval);
    case 'inet_service':
      return service(value, interval);
    case 'verdict':
      if (soleKey(value) === undefined || !VERDICTS.has(soleKey(value) as string)) {
        throw new ElementError("Can't parse symbolic netfilter verdict expressions");
      }
      return value;
    default:
      return value;
  }
}

function address(family: 4 | 6, value: JsonValue, interval: boolean): JsonValue {
  if (typeof value === 'string') {
    if (family === 4 && isIPv4(value)) return value;
    if (family === 6 && isIPv6(value) && !value.includes('%')) {
      return new SocketAddress({ address: value, family: 'ipv6' }).address;
    }
    throw new ElementError(
      `Could not resolve hostname: ${JSON.stringify(value)} is not an IPv${family} address (the sim does not resolve names)`,
    );
  }
  if (
    family === 4 &&
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= 0 &&
    value <= 0xffffffff
  ) {
    return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
  }
  if (isObject(value) && (soleKey(value) === 'prefix' || soleKey(value) === 'range')) {
    if (!interval) {
      throw new ElementError(
        "You must add 'flags interval' to your set declaration if you want to add prefix elements",
      );
    }
    if (soleKey(value) === 'prefix') {
      const prefix = value.prefix;
      const max = family === 4 ? 32 : 128;
      if (!isObject(prefix) || typeof prefix.len !== 'number' || prefix.len < 0 || prefix.len > max) {
        throw new ElementError(`a prefix needs { addr, len } with len 0..${max}`);
      }
      return { prefix: { addr: address(family, prefix.addr as JsonValue, false), len: prefix.len } };
    }
    const range = value.range;
    if (!Array.isArray(range) || range.length !== 2) throw new ElementError('a range needs [low, high]');
    return { range: range.map((end) => address(family, end, false)) };
  }
  throw new ElementError(`${JSON.stringify(value)} is not an IPv${family} address`);
}

function service(value: JsonValue, interval: boolean): JsonValue {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff)
      throw new ElementError('Service out of range');
    return value;
  }
  if (typeof value === 'string' && value.length > 0) return value;
  if (
    isObject(value) &&
    soleKey(value) === 'range' &&
    Array.isArray(value.range) &&
    value.range.length === 2
  ) {
    if (!interval) {
      throw new ElementError(
        "You must add 'flags interval' to your set declaration if you want to add range elements",
      );
    }
    return { range: value.range.map((end) => service(end, false)) };
  }
  throw new ElementError(`${JSON.stringify(value)} is not a port`);
}

/** `{ elem: { val, ... } }` wraps a key with per-element options; returns the key and a rewrap function. */
export function unwrap(element: JsonValue): { key: JsonValue; rewrap: (key: JsonValue) => JsonValue } {
  if (isObject(element) && soleKey(element) === 'elem' && isObject(element.elem) && 'val' in element.elem) {
    const options = element.elem as { [key: string]: JsonValue };
    return { key: options.val as JsonValue, rewrap: (key) => ({ elem: { ...options, val: key } }) };
  }
  return { key: element, rewrap: (key) => key };
}
