import { observe } from './observe.ts';
import { findLink, hasRoute, type Observed } from './plan.ts';
import { ownProcesses } from './processes.ts';
import { realServerHealth } from './realservers.ts';
import { serialHealth } from './serial.ts';
import type { Topology } from './topology.ts';
import { resolveTopology, type TestbedOptions } from './up.ts';

export interface Check {
  readonly area: 'namespace' | 'bridge' | 'link' | 'route' | 'forwarding' | 'serial' | 'realserver';
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface StatusReport {
  readonly topology: Topology;
  readonly checks: readonly Check[];
  /** Every check passed. */
  readonly whole: boolean;
}

/** The network half of the status, from an observation: pure. */
export function networkChecks(topology: Topology, observed: Observed): Check[] {
  const checks: Check[] = [];
  for (const { ns } of topology.nodes) {
    checks.push({
      area: 'namespace',
      name: ns,
      ok: observed.has(ns),
      detail: observed.has(ns) ? 'present' : 'missing',
    });
  }
  for (const br of topology.bridges) {
    const have = findLink(observed, br.ns, br.name);
    const ok = have?.kind === 'bridge' && have.operUp;
    const detail =
      have === undefined
        ? 'missing'
        : have.kind !== 'bridge'
          ? `is a ${have.kind ?? 'plain'} link`
          : have.operUp
            ? 'up'
            : 'down';
    checks.push({ area: 'bridge', name: `${br.ns}:${br.name}`, ok, detail });
  }
  for (const { a, b } of topology.veths) {
    const problems: string[] = [];
    const addresses: string[] = [];
    for (const end of [a, b]) {
      const have = findLink(observed, end.ns, end.name);
      const where = `${end.ns}:${end.name}`;
      if (have === undefined) problems.push(`${where} missing`);
      else {
        if (have.kind !== 'veth') problems.push(`${where} is not a veth`);
        if (!have.operUp) problems.push(`${where} down`);
        if (end.master !== undefined && have.master !== end.master)
          problems.push(`${where} not in ${end.master}`);
        for (const address of end.addresses) {
          if (have.addresses.includes(address)) addresses.push(address);
          else problems.push(`${where} lacks ${address}`);
        }
      }
    }
    const detail =
      problems.length > 0 ? problems.join(', ') : `up${addresses.length ? ` ${addresses.join(' ')}` : ''}`;
    checks.push({
      area: 'link',
      name: `${a.ns}:${a.name} <-> ${b.ns}:${b.name}`,
      ok: problems.length === 0,
      detail,
    });
  }
  for (const route of topology.routes) {
    const ok = hasRoute(observed, route);
    checks.push({
      area: 'route',
      name: `${route.ns}: ${route.dst} via ${route.via}`,
      ok,
      detail: ok ? 'present' : 'missing',
    });
  }
  for (const ns of topology.forwarding) {
    const on = observed.get(ns)?.forwarding === true;
    checks.push({
      area: 'forwarding',
      name: ns,
      ok: on,
      detail: on ? 'IPv4 forwarding on' : 'IPv4 forwarding off',
    });
  }
  return checks;
}

/** What exists of the testbed: namespaces, links, routes, the serial cable, real servers answering. */
export async function status(options: TestbedOptions = {}): Promise<StatusReport> {
  const topology = await resolveTopology(options);
  const { observed } = await observe(topology);
  const processes = ownProcesses(topology.prefix, topology.stateDir);
  const serial = serialHealth(topology, processes);
  const servers = await Promise.all(topology.realServers.map((rs) => realServerHealth(rs, processes)));
  const checks: Check[] = [
    ...networkChecks(topology, observed),
    { area: 'serial', name: 'serial cable a <-> b', ok: serial.ok, detail: serial.detail },
    ...servers.map((s): Check => ({ area: 'realserver', name: s.name, ok: s.ok, detail: s.detail })),
  ];
  return { topology, checks, whole: checks.every((c) => c.ok) };
}

export function formatStatus(report: StatusReport): string[] {
  const namespaces = report.checks.filter((c) => c.area === 'namespace');
  if (namespaces.every((c) => !c.ok)) {
    return [`testbed ${report.topology.prefix}: down (none of its ${namespaces.length} namespaces exists)`];
  }
  const bad = report.checks.filter((c) => !c.ok).length;
  const head = report.whole
    ? `testbed ${report.topology.prefix}: whole`
    : `testbed ${report.topology.prefix}: not whole (${bad} of ${report.checks.length} checks fail)`;
  return [
    head,
    ...report.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.area.padEnd(10)} ${c.name}: ${c.detail}`),
  ];
}
