import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimClock } from '../../../hal/clock/sim.ts';
import { HalError } from '../../../hal/errors.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { clockContract } from './contract.ts';

const timers = suite('SimClock timers');

timers('fire in due order, same-instant timers in arming order', () => {
  const clock = new SimClock();
  const fired: string[] = [];
  clock.setTimer(20, () => fired.push(`b@${clock.now()}`));
  clock.setTimer(10, () => fired.push(`a@${clock.now()}`));
  clock.setTimer(20, () => fired.push(`c@${clock.now()}`));
  clock.advance(15);
  assert.equal(fired, ['a@10']);
  clock.advance(5);
  assert.equal(fired, ['a@10', 'b@20', 'c@20']);
  assert.is(clock.now(), 20);
});

timers('a canceled timer never fires', () => {
  const clock = new SimClock();
  let fired = false;
  const t = clock.setTimer(5, () => {
    fired = true;
  });
  t.cancel();
  t.cancel();
  clock.advance(10);
  assert.not.ok(fired);
  assert.is(clock.pendingTimers(), 0);
});

timers('a negative delay and going backwards are refused with HAL_INVALID_ARGUMENT', () => {
  const clock = new SimClock({ startMs: 100 });
  assert.throws(
    () => clock.setTimer(-1, () => {}),
    (e: unknown) => HalError.is(e, 'HAL_INVALID_ARGUMENT'),
  );
  assert.throws(
    () => clock.advanceTo(50),
    (e: unknown) => HalError.is(e, 'HAL_INVALID_ARGUMENT'),
  );
});

timers.run();

// ---

const nodes = suite('SimClock derived node clocks');

nodes('drift and offset change the reading, not the world', () => {
  const world = new SimClock();
  const fast = world.derive({ driftPpm: 1000, offsetMs: 5 });
  world.advance(1000);
  assert.is(world.now(), 1000);
  assert.ok(Math.abs(fast.now() - (5 + 1001)) < 1e-9, `fast clock reads ${fast.now()}`);
});

nodes('a stalled node fires its timers late, together, when the stall ends', () => {
  const world = new SimClock();
  const a = world.derive();
  const b = world.derive();
  const fired: string[] = [];
  a.setTimer(10, () => fired.push(`a@${world.worldNow()}`));
  a.setTimer(20, () => fired.push(`a2@${world.worldNow()}`));
  b.setTimer(15, () => fired.push(`b@${world.worldNow()}`));
  a.stall(50);
  world.advance(100);
  assert.equal(fired, ['b@15', 'a@50', 'a2@50']);
});

nodes.run();

// ---

const sleeping = suite('SimClock sleep');

sleeping('resolves when time is advanced', async () => {
  const clock = new SimClock();
  let done = false;
  const p = clock.sleep(30).then(() => {
    done = true;
  });
  clock.advance(29);
  await SimClock.flush();
  assert.not.ok(done);
  clock.advance(1);
  await p;
  assert.ok(done);
});

sleeping('rejects with HAL_CANCELED on abort and leaves no timer', async () => {
  const clock = new SimClock();
  const ac = new AbortController();
  const p = clock.sleep(30, { signal: ac.signal });
  ac.abort();
  await rejects(p, withCode('HAL_CANCELED'));
  assert.is(clock.pendingTimers(), 0);
  await rejects(clock.sleep(1, { signal: ac.signal }), withCode('HAL_CANCELED'));
});

sleeping.run();

// ---

clockContract('sim', () => {
  const clock = new SimClock();
  return {
    clock,
    wait: async (ms) => {
      clock.advance(ms);
      await SimClock.flush();
    },
  };
});
