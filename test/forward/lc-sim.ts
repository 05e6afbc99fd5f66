/**
 * A seeded simulation of least-connection scheduling, to measure how close the slot-table approximation
 * (re-weighting every period from connection counts) gets to true least-connection. Servers differ in
 * how long they hold a connection; connections arrive at random (exponential gaps) and hash to a slot.
 * Imbalance = the time average of (max - min) connections per weight, over the mean: 0 is perfect.
 * Used by test/forward/least-conn.test.ts and bench/forward.ts.
 */
import { leastConnectionWeights } from '../../firmware/forward/schedulers/least-conn.ts';
import { maglev } from '../../firmware/forward/schedulers/maglev.ts';
import { Rng } from '../../hal/sim/rng.ts';

export type Policy = 'true-lc' | 'static' | 'approx';

export interface LcSimOptions {
  seed: number;
  /** Mean connection lifetime per server (s): the slow servers hold theirs longer. */
  holdS: readonly number[];
  weights?: readonly number[];
  arrivalsPerS: number;
  durationS: number;
  periodS: number;
  slots?: number;
}

export function simulateLeastConn(policy: Policy, o: LcSimOptions): { imbalance: number; maxLevel: number } {
  const rng = new Rng(o.seed);
  const n = o.holdS.length;
  const w = o.weights ?? new Array<number>(n).fill(1);
  const size = o.slots ?? 4099;
  const keys = w.map((_, i) => ({ key: `rs${i}`, weight: w[i] as number }));
  let table = maglev(keys, size);
  const active = new Array<number>(n).fill(0);
  const departures: { at: number; server: number }[] = [];
  const exp = (mean: number): number => -Math.log(1 - rng.float()) * mean;
  let now = 0;
  let nextPeriod = o.periodS;

  // What the forwarding core can know per server: connections open (conntrack) and new ones (counters).
  let lastActive = new Array<number>(n).fill(0);
  let newInPeriod = new Array<number>(n).fill(0);
  let imbalanceSum = 0;
  let maxLevelSum = 0;
  let samples = 0;
  let nextSample = 1;
  while (now < o.durationS) {
    now += exp(1 / o.arrivalsPerS);
    departures.sort((a, b) => a.at - b.at);
    while (departures.length > 0 && (departures[0] as { at: number }).at <= now) {
      const d = departures.shift() as { server: number };
      active[d.server] = (active[d.server] as number) - 1;
    }
    if (policy === 'approx' && now >= nextPeriod) {
      const weights = leastConnectionWeights(
        active.map((a, i) => ({
          weight: w[i] as number,
          active: a,
          previous: { active: lastActive[i] as number, opened: newInPeriod[i] as number },
        })),
        { weighted: true },
      );
      table = maglev(
        keys.map((k, i) => ({ key: k.key, weight: weights[i] as number })),
        size,
      );

      lastActive = [...active];
      newInPeriod = new Array<number>(n).fill(0);
      nextPeriod += o.periodS;
    }
    let server: number;
    if (policy === 'true-lc') {
      server = 0;
      for (let i = 1; i < n; i++) {
        if ((active[i] as number) / (w[i] as number) < (active[server] as number) / (w[server] as number))
          server = i;
      }
    } else {
      server = table[rng.u32() % size] as number;
    }
    active[server] = (active[server] as number) + 1;
    newInPeriod[server] = (newInPeriod[server] as number) + 1;

    departures.push({ at: now + exp(o.holdS[server] as number), server });
    if (now >= nextSample) {
      const levels = active.map((a, i) => a / (w[i] as number));
      const mean = levels.reduce((a, b) => a + b, 0) / n;
      if (mean > 0) {
        imbalanceSum += (Math.max(...levels) - Math.min(...levels)) / mean;
        maxLevelSum += Math.max(...levels) / mean;
        samples += 1;
      }
      nextSample += 0.1;
    }
  }
  return { imbalance: imbalanceSum / samples, maxLevel: maxLevelSum / samples };
}
