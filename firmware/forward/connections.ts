/**
 * Open connections per real server, from the kernel's connection tracking table (the conntrack HAL
 * driver), for the lc/wlc re-weighting of NAT services. countActive is pure.
 */

import type { ConnectionTracker, TrackedFlow } from '../../hal/conntrack/types.ts';
import { HalError } from '../../hal/errors.ts';
import { ForwardError } from './errors.ts';
import { type DesiredForwarding, serverKey } from './model.ts';
import type { ActiveConnections } from './reweight.ts';

/** Established flows per service and server key, for the NAT services of `desired`. */
export function countActive(desired: DesiredForwarding, flows: Iterable<TrackedFlow>): ActiveConnections {
  const out = new Map<string, Map<string, number>>();
  const services = desired.services.filter((s) => s.method === 'nat');
  for (const f of flows) {
    if (f.state !== undefined && f.state !== 'ESTABLISHED') continue;
    const s = services.find(
      (x) =>
        x.vip === f.original.dst &&
        x.protocol === f.protocol &&
        (x.port === undefined || x.port === f.original.dport),
    );
    if (s === undefined) continue;
    const r = s.servers.find(
      (x) => x.address === f.reply.src && (x.port ?? f.original.dport) === f.reply.sport,
    );
    if (r === undefined) continue;
    const perService = out.get(s.name) ?? new Map<string, number>();
    const key = serverKey(s, r);
    perService.set(key, (perService.get(key) ?? 0) + 1);
    out.set(s.name, perService);
  }
  return out;
}

export interface ConnectionReader {
  activeConnections(
    desired: DesiredForwarding,
    options?: { signal?: AbortSignal },
  ): Promise<ActiveConnections>;
}

/** Reads the established flows from a conntrack driver (the board's, from board/wiring.ts). */
export class TrackerConnectionReader implements ConnectionReader {
  constructor(private readonly tracker: ConnectionTracker) {}

  async activeConnections(
    desired: DesiredForwarding,
    options: { signal?: AbortSignal } = {},
  ): Promise<ActiveConnections> {
    try {
      const flows = await this.tracker.list({
        state: 'ESTABLISHED',
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return countActive(desired, flows);
    } catch (err) {
      if (HalError.is(err, 'HAL_CANCELED')) throw err;
      throw new ForwardError('FORWARD_IO', `cannot read connection counts: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}
