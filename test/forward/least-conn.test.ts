import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDesired } from '../../firmware/forward/model.ts';
import { needsReweighting, reweight } from '../../firmware/forward/reweight.ts';
import { leastConnectionWeights } from '../../firmware/forward/schedulers/least-conn.ts';
import { simulateLeastConn } from './lc-sim.ts';

const weights = suite('leastConnectionWeights');

weights('no history, equal load: shares follow the weights; lc ignores them', () => {
  const samples = [
    { weight: 1, active: 10 },
    { weight: 3, active: 30 },
  ];
  const w = leastConnectionWeights(samples, { weighted: true });
  assert.ok(Math.abs((w[1] as number) / (w[0] as number) - 3) < 0.01, String(w));
  const lc = leastConnectionWeights(samples, { weighted: false });
  // Weights ignored: the server with more open connections gets fewer new ones.
  assert.ok((lc[1] as number) < (lc[0] as number) / 2, String(lc));
});

weights('a server that closes connections faster gets more of the new ones', () => {
  const w = leastConnectionWeights(
    [
      { weight: 1, active: 50, previous: { active: 50, opened: 50 } }, // closed 50 of 100
      { weight: 1, active: 50, previous: { active: 50, opened: 10 } }, // closed 10 of 60
    ],
    { weighted: true },
  );
  assert.ok((w[0] as number) > (w[1] as number) * 3, String(w));
});

weights('a loaded server gets a quarter of its share at most', () => {
  const w = leastConnectionWeights(
    [
      { weight: 1, active: 100 },
      { weight: 1, active: 0 },
      { weight: 1, active: 0 },
    ],
    { weighted: false },
  );
  assert.ok((w[0] as number) * 8 <= (w[1] as number), String(w));
});

weights('only NAT lc/wlc services are re-weighted', () => {
  const d = parseDesired({
    services: [
      {
        name: 'a',
        vip: '192.0.2.100',
        protocol: 'tcp',
        port: 80,
        method: 'nat',
        scheduler: 'wlc',
        servers: [{ address: '198.51.100.11' }, { address: '198.51.100.12' }],
      },
      {
        name: 'b',
        vip: '192.0.2.100',
        protocol: 'tcp',
        port: 81,
        method: 'dr',
        scheduler: 'lc',
        servers: [{ address: '198.51.100.11' }],
      },
    ],
  });
  assert.ok(needsReweighting(d));
  const out = reweight(d, new Map([['a', new Map([['198.51.100.11 80', 50]])]]));
  assert.equal([...out.keys()], ['a']);
  const a = out.get('a') as Map<string, number>;
  assert.ok((a.get('198.51.100.12 80') as number) > (a.get('198.51.100.11 80') as number) * 3.9);
});

weights.run();

// ---

const sim = suite('lc approximation, simulated (seed 5)');

sim('re-weighting every second gets much closer to true least-connection than static weights', () => {
  const o = { seed: 5, holdS: [1, 1, 2, 4], arrivalsPerS: 200, durationS: 40, periodS: 1 };
  const truth = simulateLeastConn('true-lc', o);
  const fixed = simulateLeastConn('static', o);
  const approx = simulateLeastConn('approx', o);
  console.log(
    `  imbalance (max-min)/mean: true lc ${truth.imbalance.toFixed(3)}, approximation ${approx.imbalance.toFixed(3)}, static ${fixed.imbalance.toFixed(3)}`,
  );
  assert.ok(approx.imbalance < fixed.imbalance / 4, JSON.stringify({ approx, fixed }));
  assert.ok(truth.imbalance <= approx.imbalance, JSON.stringify({ truth, approx }));
});

sim.run();
