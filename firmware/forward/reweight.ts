/**
 * The lc/wlc approximation for the slot-table data planes (pure): from the connections open on each
 * server, weights for the next period's table. Only NAT services are re-weighted: conntrack keeps their
 * established flows where they are while slots move; a DR service's moved slots would move its
 * established flows too, so lc/wlc on DR keeps the configured weights (use IPVS for true lc on DR).
 */
import type { DesiredForwarding } from './model.ts';
import { activeServers, serverKey } from './model.ts';
import type { WeightOverrides } from './plane.ts';
import { leastConnectionWeights } from './schedulers/least-conn.ts';

/** Open connections by service name, then server key. */
export type ActiveConnections = ReadonlyMap<string, ReadonlyMap<string, number>>;

export function reweight(
  desired: DesiredForwarding,
  active: ActiveConnections,
  /** The last period's reading, and the connections each server opened since (per-server counters). */
  previous?: { readonly active: ActiveConnections; readonly opened: ActiveConnections },
): WeightOverrides {
  const out = new Map<string, Map<string, number>>();
  for (const s of desired.services) {
    if (s.method !== 'nat' || (s.scheduler !== 'lc' && s.scheduler !== 'wlc')) continue;
    const servers = activeServers(s);
    if (servers.length === 0) continue;
    const weights = leastConnectionWeights(
      servers.map((r) => {
        const key = serverKey(s, r);
        const before = previous?.active.get(s.name)?.get(key);
        const opened = previous?.opened.get(s.name)?.get(key);
        return {
          weight: r.weight,
          active: active.get(s.name)?.get(key) ?? 0,
          ...(before === undefined || opened === undefined ? {} : { previous: { active: before, opened } }),
        };
      }),
      { weighted: s.scheduler === 'wlc' },
    );
    out.set(s.name, new Map(servers.map((r, i) => [serverKey(s, r), weights[i] as number])));
  }
  return out;
}

/** True when some service would be re-weighted. */
export function needsReweighting(desired: DesiredForwarding): boolean {
  return desired.services.some((s) => s.method === 'nat' && (s.scheduler === 'lc' || s.scheduler === 'wlc'));
}
