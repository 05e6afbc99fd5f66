import { run } from './exec.ts';
import { type ApplianceName, interimRoutes, type Topology } from './topology.ts';

/**
 * Until a cluster owns the VIP and the server-side gateway, lets the client reach the real servers
 * through appliance `via`'s own addresses (it forwards; no NAT). See `interimRoutes`.
 */
export async function routeClientThrough(topology: Topology, via: ApplianceName): Promise<void> {
  for (const r of interimRoutes(topology, via)) {
    await run(['ip', '-n', r.ns, 'route', 'replace', r.dst, 'via', r.via, 'dev', r.dev]);
  }
}

/** Removes the interim routes of either appliance (absent ones are fine). */
export async function clearInterimRoutes(topology: Topology): Promise<void> {
  for (const via of ['a', 'b'] as const) {
    for (const r of interimRoutes(topology, via)) {
      await run(['ip', '-n', r.ns, 'route', 'del', r.dst, 'via', r.via, 'dev', r.dev], { allowFail: true });
    }
  }
}
