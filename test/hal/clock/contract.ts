import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Clock } from '../../../hal/clock/types.ts';
import { rejects, withCode } from '../../support/assert.ts';

/**
 * The Clock contract, run against both drivers. `wait(ms)` lets `ms` of the clock's time pass: the sim
 * advances virtual time, the linux clock really waits.
 */
export function clockContract(
  name: string,
  make: () => { clock: Clock; wait: (ms: number) => Promise<void> },
): void {
  const contract = suite(`Clock contract: ${name}`);

  contract('now() never decreases', async () => {
    const { clock, wait } = make();
    let last = clock.now();
    for (let i = 0; i < 50; i++) {
      if (i % 10 === 0) await wait(1);
      const t = clock.now();
      assert.ok(t >= last, `${t} < ${last}`);
      last = t;
    }
  });

  contract('a timer fires no earlier than its delay, in order with others', async () => {
    const { clock, wait } = make();
    const start = clock.now();
    const fired: [string, number][] = [];
    clock.setTimer(20, () => fired.push(['late', clock.now() - start]));
    clock.setTimer(5, () => fired.push(['early', clock.now() - start]));
    await wait(60);
    assert.equal(
      fired.map(([n]) => n),
      ['early', 'late'],
    );
    assert.ok((fired[0]?.[1] ?? 0) >= 5 - 1e-6 && (fired[1]?.[1] ?? 0) >= 20 - 1e-6, JSON.stringify(fired));
  });

  contract('a canceled timer does not fire', async () => {
    const { clock, wait } = make();
    let fired = false;
    clock
      .setTimer(5, () => {
        fired = true;
      })
      .cancel();
    await wait(20);
    assert.not.ok(fired);
  });

  contract('an invalid delay is refused with HAL_INVALID_ARGUMENT', () => {
    const { clock } = make();
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => clock.setTimer(bad, () => {}), withCode('HAL_INVALID_ARGUMENT'));
    }
  });

  contract('sleep resolves, and rejects with HAL_CANCELED when aborted (before or during)', async () => {
    const { clock, wait } = make();
    const slept = clock.sleep(5);
    await wait(10);
    await slept;
    const ac = new AbortController();
    const pending = clock.sleep(1000, { signal: ac.signal });
    ac.abort();
    await rejects(pending, withCode('HAL_CANCELED'));
    await rejects(clock.sleep(1, { signal: ac.signal }), withCode('HAL_CANCELED'));
    const custom = new AbortController();
    const reason = new Error('shutting down');
    const p = clock.sleep(1000, { signal: custom.signal });
    custom.abort(reason);
    await rejects(p, (e) => e === reason);
  });

  contract('wallTime is epoch milliseconds', () => {
    const { clock } = make();
    assert.ok(clock.wallTime() > Date.UTC(2020, 0, 1));
  });

  contract.run();
}
