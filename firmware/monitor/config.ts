/**
 * The monitor's configuration document: its schema (zod) and `resolveConfig`, which validates it, fills in
 * defaults, has each check's kind parse the check's own fields, and returns the MonitorPlan the core
 * runs. Every error is a ConfigFieldError naming the field path and the value
 * (`services[0].servers[1].checks[0].expectStatus[0]: ..., got 700`).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { findKind, KIND_NAMES } from './checks/index.ts';
import { parseWith } from './checks/spec.ts';
import { ConfigFieldError, joinPath } from './errors.ts';
import type { CheckPlan, CheckPolicy, MonitorPlan, ServicePlan } from './plan.ts';

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a name of 1-64 letters, digits, ".", "_" or "-"');
const address = z.string().refine((a) => isIP(a) !== 0, 'expected an IPv4 or IPv6 address');
const port = z.number().int().min(1, 'expected a port 1..65535').max(65535, 'expected a port 1..65535');

const policyFields = {
  intervalMs: z.number().int().min(100, 'expected an interval of at least 100 ms').max(3_600_000).optional(),
  timeoutMs: z.number().int().min(1).max(600_000).optional(),
  rise: z.number().int().min(1).max(1000).optional(),
  fall: z.number().int().min(1).max(1000).optional(),
  jitterMs: z.number().int().min(0).max(3_600_000).optional(),
  retryMs: z.number().int().min(10).max(3_600_000).optional(),
};
const POLICY_KEYS = new Set(Object.keys(policyFields));

const policy = z.strictObject(policyFields);
/** A check: `kind`, the policy fields, and the kind's own fields (checked by the kind). */
const check = z.looseObject({ kind: z.string(), ...policyFields });

const serverSchema = z.strictObject({
  name,
  address,
  port: port.optional(),
  weight: z.number().int().min(0).max(65535).default(1),
  checks: z.array(check).default([]),
});

const serviceSchema = z.strictObject({
  name,
  /** The servers' port unless a server gives its own. */
  port: port.optional(),
  onFall: z.enum(['quiesce', 'remove']).default('quiesce'),
  quorum: z.number().int().min(0).default(0),
  quorumHysteresis: z.number().int().min(0).default(0),
  startDown: z.boolean().default(false),
  sorryServer: z.strictObject({ address, port: port.optional() }).optional(),
  checks: z.array(check).default([]),
  servers: z.array(serverSchema).default([]),
});

const FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
];
const FACILITY_NAMES = [
  ...FACILITIES,
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
];
const facility = z.union(
  [
    z
      .string()
      .refine(
        (f) => FACILITY_NAMES.includes(f),
        'expected a syslog facility name (daemon, local0..local7, ...) or number 0..23',
      ),
    z.number().int().min(0).max(23),
  ],
  { error: 'expected a syslog facility name (daemon, local0..local7, ...) or number 0..23' },
);

const selfSchema = z.strictObject({
  links: z
    .array(
      z.strictObject({
        role: z.enum(['client', 'server', 'heartbeat']),
        link: z.string().regex(/^[^\s/:]{1,15}$/, 'expected an interface name of 1-15 characters'),
        weight: z.number().int().min(0).max(1000).default(1),
      }),
    )
    .default([]),
  gateway: z
    .strictObject({ address, weight: z.number().int().min(0).max(1000).default(1), ...policyFields })
    .optional(),
  services: z
    .array(
      z.strictObject({
        name,
        weight: z.number().int().min(0).max(1000).default(1),
        address: address.default('127.0.0.1'),
        port: port.optional(),
        check,
      }),
    )
    .default([]),
});

const schema = z.strictObject({
  /** Policy for checks that do not set their own. */
  defaults: policy.default({}),
  /** Probes in flight at once. Needs ≥ probes per second × timeout when every server times out. */
  maxConcurrent: z.number().int().min(1).max(16384).default(512),
  maxConcurrentScripts: z.number().int().min(1).max(1024).default(16),
  services: z.array(serviceSchema).default([]),
  self: selfSchema.default({ links: [], services: [] }),
  alerts: z
    .strictObject({
      script: z
        .strictObject({
          path: z.string().regex(/^\//, 'expected an absolute path'),
          args: z.array(z.string()).default([]),
          timeoutMs: z.number().int().min(1).max(600_000).default(10_000),
          killGraceMs: z.number().int().min(0).max(60_000).default(1000),
        })
        .optional(),
      syslog: z
        .strictObject({
          host: address,
          port: port.default(514),
          facility: facility.default('daemon'),
          appName: z
            .string()
            .regex(/^[!-~]{1,48}$/, 'expected 1-48 printable ASCII characters')
            .default('tandem-monitor'),
          hostname: z
            .string()
            .regex(/^[!-~]{1,255}$/, 'expected 1-255 printable ASCII characters')
            .optional(),
        })
        .optional(),
    })
    .default({}),
});

/** The configuration document as written (what MonitorConfigSource hands over). */
export type MonitorConfigInput = z.input<typeof schema>;

const DEFAULT_POLICY = { intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3 };

type PolicyInput = { [K in keyof typeof policyFields]?: number | undefined };

function resolvePolicy(
  own: PolicyInput,
  defaults: PolicyInput,
  kindDefaults: { rise?: number; fall?: number } | undefined,
): CheckPolicy {
  const intervalMs = own.intervalMs ?? defaults.intervalMs ?? DEFAULT_POLICY.intervalMs;
  return {
    intervalMs,
    timeoutMs: own.timeoutMs ?? defaults.timeoutMs ?? Math.min(DEFAULT_POLICY.timeoutMs, intervalMs),
    rise: own.rise ?? kindDefaults?.rise ?? defaults.rise ?? DEFAULT_POLICY.rise,
    fall: own.fall ?? kindDefaults?.fall ?? defaults.fall ?? DEFAULT_POLICY.fall,
    jitterMs: Math.min(own.jitterMs ?? defaults.jitterMs ?? intervalMs, intervalMs),
    retryMs: own.retryMs ?? defaults.retryMs,
  };
}

function resolveCheck(entry: z.output<typeof check>, defaults: PolicyInput, where: string): CheckPlan {
  const kind = findKind(entry.kind);
  if (kind === undefined) {
    throw new ConfigFieldError(
      joinPath(where, 'kind'),
      `expected one of ${KIND_NAMES.join(', ')}`,
      entry.kind,
    );
  }
  const own: Record<string, unknown> = {};
  const pol: PolicyInput = {};
  for (const [key, value] of Object.entries(entry)) {
    if (key === 'kind') continue;
    if (POLICY_KEYS.has(key)) pol[key as keyof PolicyInput] = value as number | undefined;
    else own[key] = value;
  }
  let spec: unknown;
  try {
    spec = kind.parse(own);
  } catch (err) {
    if (err instanceof ConfigFieldError) throw err.within(where);
    throw err;
  }
  return { kind, spec, policy: resolvePolicy(pol, defaults, kind.defaults) };
}

function unique(names: readonly string[], where: (i: number) => string, what: string): void {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) throw new ConfigFieldError(where(i), `${what} names must be unique`, n);
    seen.add(n);
  });
}

/** Validates a configuration document; throws ConfigFieldError (MONITOR_INVALID_CONFIG) naming what is wrong. */
export function resolveConfig(input: unknown): MonitorPlan {
  const doc = parseWith(schema, input);
  const defaults = doc.defaults;
  unique(
    doc.services.map((s) => s.name),
    (i) => `services[${i}].name`,
    'service',
  );
  const services: ServicePlan[] = doc.services.map((svc, si) => {
    const at = `services[${si}]`;
    unique(
      svc.servers.map((s) => s.name),
      (i) => `${at}.servers[${i}].name`,
      'server',
    );
    const shared = svc.checks.map((c, ci) => resolveCheck(c, defaults, `${at}.checks[${ci}]`));
    if (svc.quorumHysteresis > svc.quorum) {
      throw new ConfigFieldError(
        `${at}.quorumHysteresis`,
        `expected at most the quorum (${svc.quorum})`,
        svc.quorumHysteresis,
      );
    }
    return {
      name: svc.name,
      onFall: svc.onFall,
      quorum: svc.quorum,
      quorumHysteresis: svc.quorumHysteresis,
      startDown: svc.startDown,
      sorryServer:
        svc.sorryServer === undefined
          ? undefined
          : {
              address: svc.sorryServer.address,
              port: needPort(svc.sorryServer.port ?? svc.port, `${at}.sorryServer.port`),
            },
      servers: svc.servers.map((srv, ri) => ({
        name: srv.name,
        address: srv.address,
        port: needPort(srv.port ?? svc.port, `${at}.servers[${ri}].port`),
        weight: srv.weight,
        checks: [
          ...shared,
          ...srv.checks.map((c, ci) => resolveCheck(c, defaults, `${at}.servers[${ri}].checks[${ci}]`)),
        ],
      })),
    };
  });
  const self = doc.self;
  unique(
    self.links.map((l) => l.role),
    (i) => `self.links[${i}].role`,
    'link role',
  );
  unique(
    self.services.map((s) => s.name),
    (i) => `self.services[${i}].name`,
    'self service',
  );
  const clash = self.services.findIndex((s) => s.name === 'gateway');
  if (clash >= 0 && self.gateway !== undefined) {
    throw new ConfigFieldError(
      `self.services[${clash}].name`,
      'is taken by the gateway component',
      'gateway',
    );
  }
  const gateway = self.gateway;
  const { address: _a, weight: _w, ...gatewayPolicy } = gateway ?? { address: '', weight: 0 };
  const selfChecks = [
    ...(gateway === undefined
      ? []
      : [
          {
            name: 'gateway',
            kind: 'gateway' as const,
            weight: gateway.weight,
            address: gateway.address,
            port: 0,
            check: resolveCheck({ ...gatewayPolicy, kind: 'icmp' }, defaults, 'self.gateway'),
          },
        ]),
    ...self.services.map((s, i) => ({
      name: s.name,
      kind: 'service' as const,
      weight: s.weight,
      address: s.address,
      port: s.port ?? 0,
      check: resolveCheck(s.check, defaults, `self.services[${i}].check`),
    })),
  ];
  const alerts = doc.alerts;
  return {
    services,
    self: {
      links: self.links.map((l) => ({
        name: `link:${l.role}`,
        role: l.role,
        link: l.link,
        weight: l.weight,
      })),
      checks: selfChecks,
    },
    maxConcurrent: doc.maxConcurrent,
    maxConcurrentScripts: doc.maxConcurrentScripts,
    alerts: {
      script: alerts.script,
      syslog:
        alerts.syslog === undefined
          ? undefined
          : {
              host: alerts.syslog.host,
              port: alerts.syslog.port,
              facility: facilityNumber(alerts.syslog.facility),
              appName: alerts.syslog.appName,
              hostname: alerts.syslog.hostname,
            },
    },
  };
}

function needPort(value: number | undefined, where: string): number {
  if (value === undefined) throw new ConfigFieldError(where, 'expected a port here or on the service', value);
  return value;
}

function facilityNumber(f: string | number): number {
  if (typeof f === 'number') return f;
  const local = /^local([0-7])$/.exec(f);
  return local ? 16 + Number(local[1]) : FACILITIES.indexOf(f);
}
