/**
 * Argument checks shared by both net drivers, so the same bad input gets the same HAL_INVALID_ARGUMENT
 * (naming the field and the value) from either face, before anything touches the host.
 */
import { HalError } from '../errors.ts';
import { familyBits, formatIp, networkOf, type ParsedIp, parseIp } from './ip.ts';
import type { AnnounceForm, AnnounceOptions, Family, RouteSpec } from './types.ts';

const invalid = (message: string, device: string): HalError =>
  new HalError('HAL_INVALID_ARGUMENT', message, { device });

const show = (value: unknown): string => (typeof value === 'string' ? `"${value}"` : String(value));

/** The kernel's rule for interface names (dev_valid_name). */
export function checkLinkName(name: unknown, field = 'link'): string {
  if (
    typeof name !== 'string' ||
    name === '' ||
    name === '.' ||
    name === '..' ||
    Buffer.byteLength(name) > 15 ||
    /[/:\s]/.test(name)
  ) {
    throw invalid(
      `${field} ${show(name)} is not a valid link name (1 to 15 bytes, no '/', ':' or white space)`,
      String(name),
    );
  }
  return name;
}

export interface ParsedCidr extends ParsedIp {
  prefixLength: number;
  /** Canonical `${address}/${prefixLength}`. */
  cidr: string;
}

/** 'address/prefix' with both parts present and in range. */
export function parseCidr(cidr: unknown, field = 'CIDR'): ParsedCidr {
  const text = typeof cidr === 'string' ? cidr : '';
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  const ip = m?.[1] === undefined ? undefined : parseIp(m[1]);
  const prefixLength = Number(m?.[2]);
  if (ip === undefined || !(prefixLength <= familyBits(ip.family))) {
    throw invalid(
      `${field} ${show(cidr)} is not valid: expected address/prefix-length, e.g. 192.0.2.10/24 or 2001:db8::10/64`,
      String(cidr),
    );
  }
  return { ...ip, prefixLength, cidr: `${ip.address}/${prefixLength}` };
}

export function checkIp(ip: unknown, field = 'IP address'): ParsedIp {
  const parsed = typeof ip === 'string' ? parseIp(ip) : undefined;
  if (parsed === undefined) {
    throw invalid(`${field} ${show(ip)} is not a valid IPv4 or IPv6 address`, String(ip));
  }
  return parsed;
}

export function checkLabel(link: string, family: Family, label: unknown): string | undefined {
  if (label === undefined) return undefined;
  if (family !== 'inet') throw invalid(`label ${show(label)}: only IPv4 addresses carry a label`, link);
  if (
    typeof label !== 'string' ||
    !label.startsWith(link) ||
    Buffer.byteLength(label) > 15 ||
    /\s/.test(label)
  ) {
    throw invalid(
      `label ${show(label)} on ${link} must begin with the link name and be at most 15 bytes without white space`,
      link,
    );
  }
  return label;
}

export interface ResolvedAnnounce {
  form: AnnounceForm;
  count: number;
  intervalMs: number;
}

export function checkAnnounceOptions(link: string, options: AnnounceOptions): ResolvedAnnounce {
  const { form = 'request', count = 1, intervalMs = 1000 } = options;
  if (form !== 'request' && form !== 'reply') {
    throw invalid(`announce on ${link}: form ${show(form)} must be 'request' or 'reply'`, link);
  }
  if (!Number.isInteger(count) || count < 1 || count > 100) {
    throw invalid(`announce on ${link}: count ${show(count)} must be an integer from 1 to 100`, link);
  }
  if (
    typeof intervalMs !== 'number' ||
    !Number.isFinite(intervalMs) ||
    intervalMs < 0 ||
    intervalMs > 60_000
  ) {
    throw invalid(`announce on ${link}: intervalMs ${show(intervalMs)} must be from 0 to 60000`, link);
  }
  return { form, count, intervalMs };
}

export interface ResolvedRoute {
  family: Family;
  /** 'default' or a canonical network CIDR. */
  destination: string;
  network: bigint;
  prefixLength: number;
  gateway: ParsedIp | undefined;
  link: string | undefined;
  metric: number;
}

/** `adding`: a new route needs somewhere to go; a removal names its route by destination and metric. */
export function checkRoute(route: RouteSpec, adding: boolean): ResolvedRoute {
  const what = `route ${show(route?.destination)}`;
  if (typeof route !== 'object' || route === null) throw invalid('route must be an object', 'route');
  const gateway = route.gateway === undefined ? undefined : checkIp(route.gateway, `${what}: gateway`);
  const link = route.link === undefined ? undefined : checkLinkName(route.link, `${what}: link`);
  let family: Family;
  let network = 0n;
  let prefixLength = 0;
  if (route.destination === 'default') {
    family = gateway?.family ?? 'inet';
  } else {
    const dst = parseCidr(route.destination, `${what}: destination`);
    family = dst.family;
    prefixLength = dst.prefixLength;
    network = networkOf(family, dst.value, prefixLength);
    if (network !== dst.value) {
      throw invalid(
        `${what}: destination has host bits set (the network is ${formatIp(family, network)}/${prefixLength})`,
        String(route.destination),
      );
    }
  }
  if (gateway !== undefined && gateway.family !== family) {
    throw invalid(`${what}: gateway ${gateway.address} is not of the destination's family`, gateway.address);
  }
  if (adding && gateway === undefined && link === undefined) {
    throw invalid(`${what}: a route needs a gateway, a link or both`, String(route.destination));
  }
  const metric = route.metric ?? (family === 'inet' ? 0 : 1024);
  if (!Number.isInteger(metric) || metric < 0 || metric > 0xffff_ffff) {
    throw invalid(`${what}: metric ${show(route.metric)} must be an integer from 0 to 4294967295`, 'route');
  }
  const destination = prefixLength === 0 ? 'default' : `${formatIp(family, network)}/${String(prefixLength)}`;
  return { family, destination, network, prefixLength, gateway, link, metric };
}
