import { HalError } from '../../hal/errors.ts';
import { checkLinkName, parseCidr } from '../../hal/net/validate.ts';
import { TakeoverError } from './errors.ts';
import type { FloatingAddress, TakeoverConfig, TakeoverConfigInput } from './types.ts';

/**
 * Defaults. Three frames per form, 100 ms apart: a burst outlasts one lost frame and a switch's MAC
 * learning, and still fits well inside the time a client waits before retrying a SYN (1 s).
 */
export const takeoverDefaults = {
  garp: { count: 3, intervalMs: 100, forms: ['request', 'reply'], staggerMs: 20 },
  refreshMs: 0,
  retryMs: 500,
  labelSuffix: 'vip',
} as const;

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

function invalid(field: string, expected: string, value: unknown): TakeoverError {
  return new TakeoverError(
    'TAKEOVER_INVALID_CONFIG',
    `takeover ${field} should be ${expected}, instead got ${show(value)}`,
  );
}

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

function address(value: unknown, i: number): FloatingAddress {
  const field = `addresses[${i}]`;
  if (typeof value !== 'object' || value === null) throw invalid(field, 'an object { link, cidr }', value);
  const { link, cidr } = value as Record<string, unknown>;
  try {
    checkLinkName(link, `${field}.link`);
    return { link: link as string, cidr: parseCidr(cidr, `${field}.cidr`).cidr };
  } catch (err) {
    if (HalError.is(err, 'HAL_INVALID_ARGUMENT')) {
      throw new TakeoverError('TAKEOVER_INVALID_CONFIG', `takeover ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** Fills in the defaults and validates; a TakeoverError names the field, what it expects and the value. */
export function resolveTakeoverConfig(input: TakeoverConfigInput | TakeoverConfig): TakeoverConfig {
  if (typeof input !== 'object' || input === null) throw invalid('config', 'an object', input);
  if (!Array.isArray(input.addresses))
    throw invalid('addresses', 'a list of { link, cidr }', input.addresses);
  const addresses = input.addresses.map(address);
  const seen = new Set<string>();
  for (const a of addresses) {
    const key = a.cidr.split('/')[0] as string;
    if (seen.has(key)) throw invalid('addresses', 'a list without duplicate addresses', a.cidr);
    seen.add(key);
  }
  const garp = { ...takeoverDefaults.garp, ...input.garp };
  const forms = garp.forms;
  if (
    !Array.isArray(forms) ||
    forms.length === 0 ||
    !forms.every((f) => f === 'request' || f === 'reply') ||
    new Set(forms).size !== forms.length
  ) {
    throw invalid('garp.forms', "a non-empty list of distinct 'request' and 'reply'", forms);
  }
  const suffix = input.labelSuffix ?? takeoverDefaults.labelSuffix;
  if (typeof suffix !== 'string' || !/^[a-z0-9]{1,7}$/.test(suffix)) {
    throw invalid('labelSuffix', '1 to 7 of a-z and 0-9', suffix);
  }
  return {
    addresses,
    garp: {
      count: integer('garp.count', garp.count, 1, 100),
      intervalMs: integer('garp.intervalMs', garp.intervalMs, 0, 60_000),
      staggerMs: integer('garp.staggerMs', garp.staggerMs, 0, 10_000),
      forms: [...forms],
    },
    refreshMs: integer('refreshMs', input.refreshMs ?? takeoverDefaults.refreshMs, 0, 3_600_000),
    retryMs: integer('retryMs', input.retryMs ?? takeoverDefaults.retryMs, 1, 600_000),
    labelSuffix: suffix,
  };
}

/** The label addresses of `link` get, or undefined when `<link>:<suffix>` exceeds the kernel's 15 bytes. */
export function labelFor(link: string, suffix: string): string | undefined {
  const label = `${link}:${suffix}`;
  return Buffer.byteLength(label) <= 15 ? label : undefined;
}
