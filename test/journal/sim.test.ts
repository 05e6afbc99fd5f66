import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { inCI } from '../support/needs.ts';
import { SimWorld } from './support/sim-world.ts';

/**
 * Seeded simulation of two replication cores (see support/sim-world.ts). A failing seed is printed as
 * `seed=<n>`; rerun one with JOURNAL_SIM_SEED=<n>, hunt with JOURNAL_SIM_FROM=<n> JOURNAL_SIM_COUNT=<k>.
 */
const only = process.env.JOURNAL_SIM_SEED;
const from = Number(process.env.JOURNAL_SIM_FROM ?? 1000);
const count = Number(process.env.JOURNAL_SIM_COUNT ?? (inCI ? 60 : 40));
const seeds = only !== undefined ? [Number(only)] : Array.from({ length: count }, (_, i) => from + i);

const sim = suite('journal core: seeded two-node simulation');

sim(`${seeds.length} seeds: safety under faults, then convergence once healed`, () => {
  const totals = {
    commits: 0,
    acked: 0,
    degraded: 0,
    splitBrains: 0,
    crashes: 0,
    snapshots: 0,
    conflicts: 0,
  };
  for (const seed of seeds) {
    const world = new SimWorld(seed);
    const result = world.run({ safetyMs: 15_000, livenessMs: 20_000 });
    world.finalChecks();
    const where = `${world.describe()}\n${world.log.slice(-15).join('\n')}`;
    assert.equal(world.violations, [], `safety violated, ${where}`);
    assert.ok(result.converged, `did not converge after healing, ${where}`);
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += world.stats[k];
  }
  console.log(`sim totals over ${seeds.length} seeds: ${JSON.stringify(totals)}`);
});

sim.run();
