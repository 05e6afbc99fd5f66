/**
 * The appliance configuration document: what the journal's config API stores and replicates, one JSON
 * object with these sections, each optional in the stored document and empty when absent:
 *
 *   cluster   heartbeat timers and per-node priority (firmware/cluster's ClusterConfigInput without nodeId)
 *   services  virtual services with their real servers (firmware/forward's model, servers named)
 *   checks    health checks, each on a service or on one server of it (firmware/monitor's check specs)
 *   users     console users: name, scrypt hash (password.ts), role
 *   takeover  the floating addresses and their announcement (firmware/takeover's TakeoverConfigInput);
 *             absent: the cluster process's own file says
 *
 * These schemas check the shape and give every field an operator-readable expectation; the owners'
 * validators then check meaning (validate.ts): forward's parseDesired, monitor's resolveConfig,
 * cluster's resolveConfig and takeover's resolveTakeoverConfig, so a document that passes here is one
 * every service accepts.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { isPasswordHash } from './password.ts';

export const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]{0,23}$/;
export const SERVER_NAME = /^[a-z0-9][a-z0-9_.-]{0,31}$/;
export const USER_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;
export const NODE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export const PROTOCOLS = ['tcp', 'udp'] as const;
export const METHODS = ['dr', 'nat'] as const;
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'mh'] as const;
export const SERVER_STATES = ['up', 'drain', 'down'] as const;
export const USER_ROLES = ['admin', 'operator'] as const;
export type UserRole = (typeof USER_ROLES)[number];

const MAX_MS = 3_600_000;

const int = (what: string, min: number, max: number) =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .min(min, { error: `expected ${what}` })
    .max(max, { error: `expected ${what}` });

const ms = (what: string, min = 1) => int(`${what} in ms, ${min}..${MAX_MS}`, min, MAX_MS);
const named = (re: RegExp, what: string) =>
  z.string({ error: `expected ${what}` }).regex(re, { error: `expected ${what}` });
const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `expected ${values.join('|')}` });
const address = z
  .string({ error: 'expected an IPv4 or IPv6 address' })
  .refine((a) => isIP(a) !== 0, { error: 'expected an IPv4 or IPv6 address' });
const port = int('a port 1..65535', 1, 65535);

export const serviceName = named(
  SERVICE_NAME,
  'a service name: 1-24 of a-z 0-9 _ -, not starting with _ or -',
);
export const serverName = named(SERVER_NAME, 'a server name: 1-32 of a-z 0-9 _ . -, not starting with _ . -');
export const userName = named(USER_NAME, 'a user name: 1-32 of a-z 0-9 _ . -, starting with a letter or _');
export const nodeName = named(NODE_NAME, 'a node name: 1-32 of a-z 0-9 _ -');

/** The cluster timers an operator may change; the rest of ClusterConfig comes from the board. */
export const CLUSTER_TIMERS = [
  'keepaliveMs',
  'warnMs',
  'deadMs',
  'initDeadMs',
  'preemptDelayMs',
  'handoverTimeoutMs',
  'checkTimeoutMs',
  'recheckMs',
] as const;
export type ClusterTimer = (typeof CLUSTER_TIMERS)[number];

const clusterSection = z.strictObject({
  keepaliveMs: ms('a keepalive interval').optional(),
  warnMs: ms('a warn time').optional(),
  deadMs: ms('a dead time').optional(),
  initDeadMs: ms('an init-dead time').optional(),
  preemptDelayMs: ms('a preempt delay', 0).optional(),
  handoverTimeoutMs: ms('a handover timeout').optional(),
  checkTimeoutMs: ms('a check timeout').optional(),
  recheckMs: ms('a recheck interval').optional(),
  preempt: z.boolean({ error: 'expected true or false' }).optional(),
  minHealth: int('a health score 0..100', 0, 100).optional(),
  /** Election priority of each node by name (1..255, higher wins). */
  priority: z.record(nodeName, int('a priority 1..255', 1, 255), { error: 'expected an object' }).optional(),
});

const serverSchema = z.strictObject({
  name: serverName,
  address,
  port: port.optional(),
  weight: int('a weight 0..65535', 0, 65535).optional(),
  state: oneOf(SERVER_STATES).optional(),
});

const serviceSchema = z.strictObject({
  name: serviceName,
  vip: address,
  protocol: oneOf(PROTOCOLS),
  port: port.optional(),
  scheduler: oneOf(SCHEDULERS).optional(),
  method: oneOf(METHODS),
  persistence: int('seconds 0..604800', 0, 604_800).optional(),
  slots: int('a slot count 1..1048576', 1, 1 << 20).optional(),
  servers: z.array(serverSchema, { error: 'expected a list of servers' }).max(1000).default([]),
});

/** The policy fields every check has; its kind's own fields ride alongside and the monitor checks them. */
export const CHECK_POLICY = ['intervalMs', 'timeoutMs', 'rise', 'fall'] as const;

const checkSchema = z.looseObject({
  service: serviceName,
  server: serverName.optional(),
  kind: z.string({ error: 'expected a check kind' }).min(1, { error: 'expected a check kind' }),
  intervalMs: ms('an interval', 100).optional(),
  timeoutMs: ms('a timeout').optional(),
  rise: int('a count 1..1000', 1, 1000).optional(),
  fall: int('a count 1..1000', 1, 1000).optional(),
});

const userSchema = z.strictObject({
  name: userName,
  hash: z
    .string({ error: 'expected a scrypt password hash' })
    .refine(isPasswordHash, { error: 'expected a scrypt password hash ($scrypt$ln=..,r=..,p=..$salt$hash)' }),
  role: oneOf(USER_ROLES),
});

const takeoverSection = z.strictObject({
  addresses: z
    .array(
      z.strictObject({
        link: z.string({ error: 'expected an interface name' }),
        cidr: z.string({ error: 'expected an address with its prefix length, like 192.0.2.10/24' }),
      }),
      { error: 'expected a list of { link, cidr }' },
    )
    .max(256),
  garp: z
    .strictObject({
      count: int('a frame count 1..100', 1, 100).optional(),
      intervalMs: int('an interval in ms, 0..60000', 0, 60_000).optional(),
      forms: z
        .array(oneOf(['request', 'reply'] as const), { error: 'expected a list of request|reply' })
        .optional(),
    })
    .optional(),
  refreshMs: int('an interval in ms, 0..3600000', 0, MAX_MS).optional(),
  retryMs: int('an interval in ms, 1..600000', 1, 600_000).optional(),
  labelSuffix: z.string({ error: 'expected 1 to 7 of a-z and 0-9' }).optional(),
});

export const configSchema = z.strictObject(
  {
    cluster: clusterSection.default({}),
    services: z.array(serviceSchema, { error: 'expected a list of services' }).max(4096).default([]),
    checks: z.array(checkSchema, { error: 'expected a list of checks' }).max(65536).default([]),
    users: z.array(userSchema, { error: 'expected a list of users' }).max(256).default([]),
    takeover: takeoverSection.optional(),
  },
  { error: 'expected an object (the configuration document)' },
);

export type ApplianceConfig = z.output<typeof configSchema>;
export type ClusterSection = ApplianceConfig['cluster'];
export type ServiceConfig = ApplianceConfig['services'][number];
export type ServerConfig = ServiceConfig['servers'][number];
export type CheckConfig = ApplianceConfig['checks'][number];
export type UserConfig = ApplianceConfig['users'][number];
