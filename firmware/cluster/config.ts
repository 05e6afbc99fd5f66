import { ConfigError } from './errors.ts';
import type { ClusterConfig, ClusterConfigInput, LinkName } from './types.ts';

/**
 * Defaults, chosen from the seeded simulation's failover figures (test/cluster/sim/detection.ts: 400
 * crashes of the active, serial 6 ms + eth 0.3 ms one way, ping 1 ms, fence 10 ms; then 10 simulated
 * minutes at 5% frame loss per link with 200 stalls of up to 40 ms of the active's process):
 *
 *   keepalive/warn/dead 10/25/40: gap p50 49 ms, p99 56 ms, 1 false takeover
 *                       15/40/60: gap p50 67 ms, p99 76 ms, 0 false takeovers   <- the default
 *                       20/40/60: gap p50 64 ms, p99 76 ms, 1 false takeover
 *                       20/50/80: gap p50 84 ms, p99 96 ms, 0 false takeovers
 *
 * and from the testbed (bench/failover.ts, power loss of the ACTIVE, 10 repetitions, a 2-core machine):
 * 15/40/60 gave a client-visible gap of p50 82 / p99 97 ms, 10/30/50 90 / 114 ms and 20/50/80 101 / 159 ms
 * (the journal's promotion and the first gratuitous ARP add about 20–30 ms to the dead time), with no
 * false takeover in 30 s of the ACTIVE at 100% CPU, with or without real-time scheduling. A 70-byte
 * frame every 15 ms uses 41% of a 115200-baud serial cable.
 */
export const defaults = {
  priority: 100,
  keepaliveMs: 15,
  warnMs: 40,
  deadMs: 60,
  // Long enough for Ethernet auto-negotiation after boot; a lone node is not latency critical.
  initDeadMs: 2000,
  preempt: false,
  // Time for a returning higher-priority node to resynchronise its journal replica before it preempts.
  preemptDelayMs: 30_000,
  links: ['serial', 'eth'] as readonly LinkName[],
  // The monitor weighs client 3, server 3, heartbeat NIC 1 (firmware/monitor/main.ts): losing a data
  // link leaves 57, unhealthy; losing only the heartbeat NIC leaves 86.
  minHealth: 60,
  pingNode: false,
  fence: false,
  // A handover completes in about one frame; 25 keepalives is plenty.
  handoverTimeoutMs: 500,
  // The shell answers ping-check and fence-peer within this; it should give its probe a bit less.
  checkTimeoutMs: 100,
  recheckMs: 1000,
} as const satisfies Omit<ClusterConfig, 'nodeId'>;

const known = new Set<string>(['nodeId', ...Object.keys(defaults)]);

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(field, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

function boolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(field, 'true or false', value);
  return value;
}

function links(value: unknown): readonly LinkName[] {
  const ok =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((l) => l === 'serial' || l === 'eth') &&
    new Set(value).size === value.length;
  if (!ok) throw new ConfigError('links', "a non-empty list of distinct 'serial' and 'eth'", value);
  return [...(value as LinkName[])];
}

const MAX_MS = 3_600_000;

/** Fills in defaults and validates; throws a ConfigError naming the field, what it expects and the value. */
export function resolveConfig(input: ClusterConfigInput): ClusterConfig {
  if (typeof input !== 'object' || input === null) throw new ConfigError('config', 'an object', input);
  for (const key of Object.keys(input)) {
    if (!known.has(key))
      throw new ConfigError(key, 'absent (unknown field)', (input as object)[key as never]);
  }
  const get = <K extends keyof typeof defaults>(k: K): unknown => input[k] ?? defaults[k];
  const nodeId = integer('nodeId', input.nodeId, 0, 0xffff);
  const priority = integer('priority', get('priority'), 1, 255);
  const keepaliveMs = integer('keepaliveMs', get('keepaliveMs'), 1, MAX_MS);
  const warnMs = integer('warnMs', get('warnMs'), keepaliveMs + 1, MAX_MS);
  const deadMs = integer('deadMs', get('deadMs'), Math.max(warnMs + 1, 2 * keepaliveMs), MAX_MS);
  const initDeadMs = integer('initDeadMs', get('initDeadMs'), deadMs, MAX_MS);
  const handoverTimeoutMs = integer('handoverTimeoutMs', get('handoverTimeoutMs'), 2 * keepaliveMs, MAX_MS);
  return {
    nodeId,
    priority,
    keepaliveMs,
    warnMs,
    deadMs,
    initDeadMs,
    preempt: boolean('preempt', get('preempt')),
    preemptDelayMs: integer('preemptDelayMs', get('preemptDelayMs'), 0, 24 * MAX_MS),
    links: links(get('links')),
    minHealth: integer('minHealth', get('minHealth'), 0, 100),
    pingNode: boolean('pingNode', get('pingNode')),
    fence: boolean('fence', get('fence')),
    handoverTimeoutMs,
    checkTimeoutMs: integer('checkTimeoutMs', get('checkTimeoutMs'), 1, MAX_MS),
    recheckMs: integer('recheckMs', get('recheckMs'), 1, MAX_MS),
  };
}
