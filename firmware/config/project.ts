/**
 * The views of the appliance configuration that each service reads: the forwarding service's desired
 * state, the monitor's configuration and the cluster core's input. Each is a plain projection of a
 * validated document, so the owners' validators can be run on exactly what their services will see.
 */
import type { ClusterConfigInput } from '../cluster/types.ts';
import type { DesiredInput } from '../forward/model.ts';
import type { MonitorConfigInput } from '../monitor/config.ts';
import type { TakeoverConfigInput } from '../takeover/types.ts';
import type { ApplianceConfig, CheckConfig, ClusterTimer } from './schema.ts';
import { CLUSTER_TIMERS } from './schema.ts';

/** The forwarding service's desired state (server names are the console's; forwarding keys by address). */
export function forwardingInput(config: ApplianceConfig): DesiredInput {
  return {
    services: config.services.map(({ servers, ...service }) => ({
      ...service,
      servers: servers.map(({ name: _name, ...server }) => server),
    })),
  };
}

type Segment = string | number;

export interface MonitorProjection {
  input: MonitorConfigInput;
  /** Monitor field paths (`services[0].servers[1].checks[0]`) → the same place in the document. */
  origins: Map<string, Segment[]>;
}

/** The check's own fields as the monitor takes them: everything but where it is attached. */
export function checkSpec(check: CheckConfig): Record<string, unknown> {
  const { service: _service, server: _server, ...spec } = check;
  return spec;
}

/**
 * The monitor's configuration: every service with at least one check, all its servers, the service's own
 * checks on each server and each server's checks. Services without checks are not monitored.
 */
export function monitorInput(config: ApplianceConfig): MonitorProjection {
  const origins = new Map<string, Segment[]>();
  const services: NonNullable<MonitorConfigInput['services']> = [];
  config.services.forEach((service, si) => {
    const own = config.checks
      .map((check, ci) => ({ check, ci }))
      .filter(({ check }) => check.service === service.name);
    if (own.length === 0) return;
    const at = `services[${services.length}]`;
    origins.set(at, ['services', si]);
    const shared = own.filter(({ check }) => check.server === undefined);
    for (const [j, { ci }] of shared.entries()) origins.set(`${at}.checks[${j}]`, ['checks', ci]);
    services.push({
      name: service.name,
      ...(service.port === undefined ? {} : { port: service.port }),
      checks: shared.map(({ check }) => checkSpec(check) as { kind: string }),
      servers: service.servers.map((server, ri) => {
        const where = `${at}.servers[${ri}]`;
        origins.set(where, ['services', si, 'servers', ri]);
        const mine = own.filter(({ check }) => check.server === server.name);
        for (const [j, { ci }] of mine.entries()) origins.set(`${where}.checks[${j}]`, ['checks', ci]);
        return {
          name: server.name,
          address: server.address,
          ...(server.port === undefined ? {} : { port: server.port }),
          ...(server.weight === undefined ? {} : { weight: server.weight }),
          checks: mine.map(({ check }) => checkSpec(check) as { kind: string }),
        };
      }),
    });
  });
  return { input: { services }, origins };
}

/** The cluster core's input for one node: the shared timers plus that node's priority. */
export function clusterInput(
  config: ApplianceConfig,
  node: { nodeId: number; name: string },
): ClusterConfigInput {
  const c = config.cluster;
  const timers: Partial<Record<ClusterTimer, number>> = {};
  for (const timer of CLUSTER_TIMERS) if (c[timer] !== undefined) timers[timer] = c[timer];
  const priority = c.priority?.[node.name];
  return {
    nodeId: node.nodeId,
    ...timers,
    ...(c.preempt === undefined ? {} : { preempt: c.preempt }),
    ...(c.minHealth === undefined ? {} : { minHealth: c.minHealth }),
    ...(priority === undefined ? {} : { priority }),
  };
}

/** The takeover service's input, when the document has a takeover section. */
export function takeoverInput(config: ApplianceConfig): TakeoverConfigInput | undefined {
  return config.takeover;
}
