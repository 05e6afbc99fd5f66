/**
 * lc and wlc in a data plane that hashes flows to slots. The kernel cannot pick "the server with the
 * fewest connections" per new connection, so the forwarding core re-weights the slot table every period
 * from what it can count per server: connections open now (conntrack, for NAT), open a period ago, and
 * opened during it (the per-server counters). From those it estimates how fast each server closes its
 * connections (Little's law: a server that closes them twice as fast can take twice the new ones for the
 * same number open), and corrects for the imbalance of the moment: a server above the mean level (open
 * connections per weight) gets proportionally less. The table is built with Maglev from those weights,
 * so a re-weighting moves only the slots whose share changed; NAT's conntrack keeps established flows
 * where they are.
 */

export interface LoadSample {
  /** The configured weight (> 0); lc treats every server as weight 1. */
  readonly weight: number;
  /** Connections open on the server now. */
  readonly active: number;
  /** Connections open a period ago, and opened during the period; unknown on the first reading. */
  readonly previous?: { readonly active: number; readonly opened: number };
}

/** Weights the table is built from: positive integers summing to about `resolution`. */
export function leastConnectionWeights(
  samples: readonly LoadSample[],
  options: { weighted: boolean; resolution?: number },
): number[] {
  const resolution = options.resolution ?? 10_000;
  if (samples.length === 0) return [];
  const w = samples.map((s) => (options.weighted ? s.weight : 1));
  // Close rate per open connection and period: -ln(1 - closed/exposed), exposed = open before + opened.
  const rates = samples.map((s) => {
    if (s.previous === undefined) return undefined;
    const exposed = s.previous.active + s.previous.opened;
    if (exposed < 4) return undefined;
    const closed = Math.min(Math.max(0, exposed - s.active), exposed - 0.5);
    return -Math.log(1 - closed / exposed);
  });
  const known = rates.filter((r): r is number => r !== undefined && r > 0);
  const meanRate = known.length === 0 ? 1 : known.reduce((a, b) => a + b, 0) / known.length;
  const level = samples.map((s, i) => s.active / (w[i] as number));
  const meanLevel = level.reduce((a, b) => a + b, 0) / level.length;
  const share = samples.map((_, i) => {
    const rate = Math.max(rates[i] ?? meanRate, meanRate / 20);
    const correction = Math.min(4, Math.max(0.25, (meanLevel + 1) / ((level[i] as number) + 1)));
    return (w[i] as number) * rate * correction;
  });
  const total = share.reduce((a, b) => a + b, 0);
  return share.map((s) => Math.max(1, Math.round((s / total) * resolution)));
}
