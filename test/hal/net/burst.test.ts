import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimClock } from '../../../hal/clock/sim.ts';
import { HalError } from '../../../hal/errors.ts';
import { runBurst } from '../../../hal/net/burst.ts';
import { rejects, withCode } from '../../support/assert.ts';

const burst = suite('net burst timing');

burst('frames go at 0, i*interval; sends may overlap; resolves when all finished', async () => {
  const clock = new SimClock();
  const started: number[] = [];
  const finishing: (() => void)[] = [];
  const done = runBurst(clock, { count: 3, intervalMs: 100, signal: undefined, device: 'eth0' }, (i) => {
    started.push(clock.now());
    return new Promise<boolean>((resolve) => finishing.push(() => resolve(i !== 1)));
  });
  clock.advance(250);
  assert.equal(started, [0, 100, 200]);
  for (const finish of finishing) finish();
  assert.is(await done, 2, 'frame 1 reported not sent');
  assert.is(clock.pendingTimers(), 0);
});

burst('a failing send cancels the rest and aborts the sends in flight', async () => {
  const clock = new SimClock();
  const signals: AbortSignal[] = [];
  const failure = new HalError('HAL_IO', 'arping failed', { device: 'eth0' });
  const done = runBurst(
    clock,
    { count: 5, intervalMs: 100, signal: undefined, device: 'eth0' },
    (i, signal) => {
      signals.push(signal);
      return i === 1 ? Promise.reject(failure) : new Promise<boolean>(() => {});
    },
  );
  clock.advance(100);
  await rejects(done, (e) => e === failure);
  assert.ok(signals[0]?.aborted, 'the first send was told to stop');
  assert.is(clock.pendingTimers(), 0);
});

burst('an abort rejects with HAL_CANCELED and leaves no timer', async () => {
  const clock = new SimClock();
  const ac = new AbortController();
  const done = runBurst(
    clock,
    { count: 3, intervalMs: 100, signal: ac.signal, device: 'eth0' },
    async () => true,
  );
  ac.abort();
  await rejects(done, withCode('HAL_CANCELED'));
  assert.is(clock.pendingTimers(), 0);
  await rejects(
    runBurst(clock, { count: 1, intervalMs: 0, signal: ac.signal, device: 'eth0' }, async () => true),
    withCode('HAL_CANCELED'),
  );
});

burst.run();
