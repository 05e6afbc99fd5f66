/**
 * The seeded simulation in CI: at least 10,000 random schedules on two worker threads (vopr style: a
 * fresh base seed each run, printed; TANDEM_SIM_SEED pins it, TANDEM_SIM_COUNT changes the count). A
 * failure names `seed=<n>`; `npx tsx test/cluster/sim/runner.ts --seed <n>` replays it with a trace.
 */
import { randomInt } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { A, B, Pair } from './pair.ts';
import { InvariantViolation } from './sim/checker.ts';
import { runParallel } from './sim/parallel.ts';
import { explain, runSchedule } from './sim/runner.ts';

const count = Number(process.env.TANDEM_SIM_COUNT ?? 10_000);
const base = Number(process.env.TANDEM_SIM_SEED ?? randomInt(0, 2 ** 32 - count));

// ---

const checker = suite('simulation checker');

checker('a seed replays exactly', () => {
  const a = runSchedule(base, { trace: true });
  const b = runSchedule(base, { trace: true });
  assert.equal(a.trace, b.trace);
  assert.equal(a.stats, b.stats);
  assert.equal(a.transitions, b.transitions);
});

checker('catches a shell that keeps the VIPs after release', () => {
  const p = new Pair().settle();
  p.world.tamper = (node, action) => !(node === A && action.type === 'release');
  p.command(A, 'failover');
  assert.throws(
    () => p.run(200),
    (e: unknown) => e instanceof InvariantViolation && /holds VIPs=true in role STANDBY/.test(e.message),
  );
});

checker('catches a standby that does not take over in time', () => {
  const p = new Pair().settle();
  p.world.tamper = (node, action) => !(node === B && action.type === 'ping-check');
  p.world.crash(A);
  assert.throws(
    () => p.run(500),
    (e: unknown) => e instanceof InvariantViolation && /did not take over/.test(e.message),
  );
});

checker('catches two holders that both heard each other', () => {
  const p = new Pair().settle();
  p.world.cut('eth', 'both');
  p.world.cut('serial', 'both');
  p.until('both ACTIVE', () => p.holds(A) && p.holds(B), 500);
  p.world.tamper = (node, action) => !(node === A && action.type === 'release');
  p.world.restore('eth');
  assert.throws(
    () => p.run(200),
    (e: unknown) => e instanceof InvariantViolation && /(both nodes hold|holds VIPs=true)/.test(e.message),
  );
});

checker.run();

// ---

const schedules = suite('seeded simulation');

schedules(`${count} random schedules from base seed ${base} hold every invariant`, async () => {
  const started = performance.now();
  const s = await runParallel(base, count, 2);
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `simulation: ${s.runs} schedules from seed ${base} in ${secs} s, ${(s.simulatedMs / 1000).toFixed(0)} simulated s, ` +
      `${s.steps} steps; takeovers ${JSON.stringify(s.takeovers)}; max transitions per node ${s.maxTransitions}`,
  );
  assert.is(s.runs, count);
  const first = s.failures[0];
  if (first !== undefined) {
    console.log(explain(first.seed));
    const seeds = s.failures.map((f) => `seed=${f.seed}`).join(' ');
    assert.unreachable(
      `seed=${first.seed}: ${first.error?.split('\n')[0]} (failing: ${seeds}; replay with ` +
        `npx tsx test/cluster/sim/runner.ts --seed ${first.seed})`,
    );
  }
  assert.ok(
    (s.takeovers['peer-dead'] ?? 0) + (s.takeovers['peer-fenced'] ?? 0) > count / 10,
    'failovers happened',
  );
  assert.ok((s.decodeErrors['bad-crc'] ?? 0) > 0, 'corrupted frames went through the codec');
  assert.ok(s.gaps.length > count / 20, `the failover bound was checked (${s.gaps.length} times)`);
});

schedules.run();
