/**
 * The forwarding model: virtual services, their real servers, scheduler, method and persistence, as the
 * journal stores them and the data planes program them. `parseDesired` is the one gate: anything it
 * returns is valid (addresses canonical, defaults filled in), anything else is a ForwardError naming the
 * field and the value.
 */
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import { z } from 'zod';
import { ForwardError } from './errors.ts';
import { isPrime } from './schedulers/primes.ts';

export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'mh'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];
export type Protocol = 'tcp' | 'udp';
/** dr: direct routing (the real servers answer the client themselves); nat: destination NAT both ways. */
export type Method = 'dr' | 'nat';
/** up: takes new flows; drain: keeps what it has (where the data plane can), takes no new ones; down: out. */
export type ServerState = 'up' | 'drain' | 'down';

export const DEFAULT_SLOTS = 65537;
/** The jhash seed both appliances use unless the journal says otherwise ("tand"). */
export const DEFAULT_HASH_SEED = 0x74616e64;
export const MAX_SLOTS = 1 << 20;

export interface RealServer {
  /** Canonical text (IPv6 in RFC 5952 form), same family as the service's VIP. */
  readonly address: string;
  /** The port on the real server; undefined: the packet's own destination port (always so for DR). */
  readonly port: number | undefined;
  readonly weight: number;
  readonly state: ServerState;
}

export interface VirtualService {
  /** Unique, short: it names the service's kernel objects and counters. */
  readonly name: string;
  readonly vip: string;
  readonly family: 4 | 6;
  readonly protocol: Protocol;
  /** undefined: every port of the VIP. */
  readonly port: number | undefined;
  readonly scheduler: SchedulerName;
  readonly method: Method;
  /** Seconds; 0 is none. With persistence a client's flows all hash on its address alone. */
  readonly persistence: number;
  /** The slot table size (a prime for mh). */
  readonly slots: number;
  readonly servers: readonly RealServer[];
}

export interface DesiredForwarding {
  /** The flow-hash seed: both appliances must use the same one, or a failover moves every flow. */
  readonly hashSeed: number;
  readonly services: readonly VirtualService[];
}

const port = z
  .number({ error: 'must be a port number' })
  .int('must be a whole number')
  .min(1, 'must be a port from 1 to 65535')
  .max(65535, 'must be a port from 1 to 65535');

const address = z.string({ error: 'must be an IP address' }).refine((a) => isIPv4(a) || isIPv6(a), {
  message: 'is not an IPv4 or IPv6 address',
});

const serverSchema = z.strictObject({
  address,
  port: port.optional(),
  weight: z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must not be negative')
    .max(65535, 'must be at most 65535')
    .default(1),
  state: z.enum(['up', 'drain', 'down'], { error: 'must be up, drain or down' }).default('up'),
});

const serviceSchema = z.strictObject({
  name: z
    .string({ error: 'must be a name' })
    .regex(
      /^[a-z0-9][a-z0-9_-]{0,23}$/,
      'must be 1-24 of a-z, 0-9, "_" or "-", starting with a letter or digit',
    ),
  vip: address,
  protocol: z.enum(['tcp', 'udp'], { error: 'must be tcp or udp' }),
  port: port.optional(),
  scheduler: z.enum(SCHEDULERS, { error: `must be one of ${SCHEDULERS.join(', ')}` }).default('mh'),
  method: z.enum(['dr', 'nat'], { error: 'must be dr or nat' }),
  persistence: z
    .number({ error: 'must be a number of seconds' })
    .int('must be whole seconds')
    .min(0, 'must not be negative')
    .max(7 * 86400, 'must be at most a week')
    .default(0),
  slots: z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_SLOTS, `must be at most ${MAX_SLOTS}`)
    .default(DEFAULT_SLOTS),
  servers: z.array(serverSchema, { error: 'must be a list of real servers' }).max(1000).default([]),
});

const desiredSchema = z.strictObject({
  hashSeed: z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must be a 32-bit unsigned number')
    .max(0xffffffff, 'must be a 32-bit unsigned number')
    .default(DEFAULT_HASH_SEED),
  services: z.array(serviceSchema, { error: 'must be a list of virtual services' }).max(4096),
});

export type DesiredInput = z.input<typeof desiredSchema>;
export type ServiceInput = z.input<typeof serviceSchema>;
export type ServerInput = z.input<typeof serverSchema>;

/** IPv4 as given, IPv6 in RFC 5952 form, so equal addresses compare equal as text. */
export function canonicalAddress(text: string): string {
  return isIPv6(text) ? new SocketAddress({ address: text, family: 'ipv6' }).address : text;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function pick(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

function invalid(field: string, message: string, got: unknown): ForwardError {
  return new ForwardError(
    'FORWARD_INVALID_CONFIG',
    `forwarding: field ${field} ${message}, got ${describe(got)}`,
    { field },
  );
}

/** Validates and normalises a desired forwarding state; throws FORWARD_INVALID_CONFIG naming the field. */
export function parseDesired(input: unknown): DesiredForwarding {
  const result = desiredSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path ?? [];
    const field = path.map(String).join('.') || '(root)';
    const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : '';
    throw invalid(field, `${issue?.message ?? 'is invalid'}${more}`, pick(input, path));
  }
  const parsed = result.data;
  const names = new Map<string, number>();
  const ports = new Map<string, Map<number | '*', number>>();
  const services = parsed.services.map((s, i): VirtualService => {
    const at = `services.${i}`;
    const family = isIPv4(s.vip) ? 4 : 6;
    const vip = canonicalAddress(s.vip);
    const first = names.get(s.name);
    if (first !== undefined) throw invalid(`${at}.name`, `duplicates services.${first}.name`, s.name);
    names.set(s.name, i);
    // A service is (VIP, protocol, port); an all-ports service overlaps every port of its VIP.
    const group = `${vip} ${s.protocol}`;
    const taken = ports.get(group) ?? new Map<number | '*', number>();
    const clash = s.port === undefined ? taken.values().next().value : (taken.get(s.port) ?? taken.get('*'));
    if (clash !== undefined) {
      throw invalid(
        at,
        `duplicates or overlaps services.${clash} (${s.protocol} ${vip} port ${s.port ?? 'all'})`,
        s.name,
      );
    }
    taken.set(s.port ?? '*', i);
    ports.set(group, taken);
    if (s.scheduler === 'mh' && !isPrime(s.slots)) {
      throw invalid(`${at}.slots`, 'must be a prime for the mh (Maglev) scheduler', s.slots);
    }
    const seen = new Map<string, number>();
    const servers = s.servers.map((r, j): RealServer => {
      const where = `${at}.servers.${j}`;
      const rfamily = isIPv4(r.address) ? 4 : 6;
      if (rfamily !== family) {
        throw invalid(`${where}.address`, `must be IPv${family} like the VIP ${vip}`, r.address);
      }
      if (r.port !== undefined && s.port === undefined) {
        throw invalid(`${where}.port`, 'must be left out for an all-ports service', r.port);
      }
      if (s.method === 'dr' && r.port !== undefined && r.port !== s.port) {
        throw invalid(`${where}.port`, `must be the service port ${s.port} (DR cannot change ports)`, r.port);
      }
      const addr = canonicalAddress(r.address);
      const rport = s.method === 'dr' ? undefined : r.port === s.port ? undefined : r.port;
      const key = `${addr} ${rport ?? s.port ?? '*'}`;
      const dup = seen.get(key);
      if (dup !== undefined) throw invalid(`${where}`, `duplicates ${at}.servers.${dup}`, r.address);
      seen.set(key, j);
      return { address: addr, port: rport, weight: r.weight, state: r.state };
    });
    return {
      name: s.name,
      vip,
      family,
      protocol: s.protocol,
      port: s.port,
      scheduler: s.scheduler,
      method: s.method,
      persistence: s.persistence,
      slots: s.slots,
      servers,
    };
  });
  return { hashSeed: parsed.hashSeed, services };
}

/** The servers that take new flows, with the weight they take them by. */
export function activeServers(service: VirtualService): RealServer[] {
  return service.servers.filter((r) => r.state === 'up' && r.weight > 0);
}

/** Identifies a real server within its service. */
export function serverKey(service: VirtualService, server: RealServer): string {
  return `${server.address} ${server.port ?? service.port ?? '*'}`;
}
