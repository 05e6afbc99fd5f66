import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimClock } from '../../../hal/clock/sim.ts';
import { Rng } from '../../../hal/sim/rng.ts';
import { type Bite, SimWatchdog } from '../../../hal/watchdog/sim.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { watchdogContract } from './contract.ts';

watchdogContract('sim', async () => {
  const clock = new SimClock();
  return {
    driver: new SimWatchdog({ clock, device: '/dev/watchdog0', maxTimeoutS: 2046 }),
    device: '/dev/watchdog0',
    missing: '/dev/watchdog7',
    tooLargeTimeoutS: 2047,
    close: async () => {},
  };
});

// ---

interface World {
  clock: SimClock;
  wd: SimWatchdog;
  bites: Bite[];
}

const world = (options: Partial<ConstructorParameters<typeof SimWatchdog>[0]> = {}): World => {
  const clock = new SimClock();
  const bites: Bite[] = [];
  const wd = new SimWatchdog({ clock, onBite: (b) => bites.push(b), ...options });
  return { clock, wd, bites };
};

const biting = suite('SimWatchdog bites');

biting('bites exactly timeoutS after the last keep-alive, then is free and disarmed', async () => {
  const { clock, wd, bites } = world();
  const h = await wd.open('/dev/watchdog', { timeoutS: 5 });
  clock.advance(3000);
  await h.keepAlive();
  clock.advance(4999);
  assert.is(wd.bites, 0);
  clock.advance(1);
  assert.equal(bites, [{ device: '/dev/watchdog', atMs: 8000, count: 1 }]);
  assert.not.ok(wd.armed);
  assert.not.ok(wd.held);
  clock.advance(60_000);
  assert.is(wd.bites, 1);
});

biting('the handle open at the bite is dead: HAL_CLOSED, saying why', async () => {
  const { clock, wd } = world();
  const h = await wd.open('/dev/watchdog', { timeoutS: 2 });
  clock.advance(2000);
  assert.not.ok(h.isOpen);
  const err = await rejects(h.keepAlive(), withCode('HAL_CLOSED'));
  assert.match(String(err), /bit/);
  const again = await wd.open('/dev/watchdog');
  assert.ok(again.isOpen);
  assert.ok(wd.armed);
});

biting('regular keep-alives hold it off indefinitely', async () => {
  const { clock, wd } = world();
  const h = await wd.open('/dev/watchdog', { timeoutS: 5 });
  for (let i = 0; i < 100; i++) {
    clock.advance(4900);
    await h.keepAlive();
  }
  assert.is(wd.bites, 0);
  assert.is(wd.keepAlives, 100);
  await h.close({ magic: true });
});

biting('onBite listeners can be removed; two watchdogs on one clock are independent', async () => {
  const clock = new SimClock();
  const seen: string[] = [];
  const a = new SimWatchdog({ clock, device: '/dev/watchdog0' });
  const b = new SimWatchdog({ clock, device: '/dev/watchdog0' });
  const stop = a.onBite((bite) => seen.push(`a${bite.count}`));
  b.onBite((bite) => seen.push(`b${bite.count}`));
  await a.open('/dev/watchdog0', { timeoutS: 1 });
  await b.open('/dev/watchdog0', { timeoutS: 2 });
  clock.advance(1000);
  stop();
  await a.open('/dev/watchdog0', { timeoutS: 1 });
  clock.advance(1000);
  assert.equal(seen, ['a1', 'b1']);
  assert.is(a.bites, 2);
});

biting.run();

// ---

const closing = suite('SimWatchdog close');

closing('a magic close disarms it', async () => {
  const { clock, wd } = world();
  const h = await wd.open('/dev/watchdog', { timeoutS: 5 });
  clock.advance(4000);
  await h.close({ magic: true });
  assert.not.ok(wd.armed);
  clock.advance(3_600_000);
  assert.is(wd.bites, 0);
});

closing('a plain close counts as a keep-alive and leaves it counting', async () => {
  const { clock, wd } = world();
  const h = await wd.open('/dev/watchdog', { timeoutS: 5 });
  clock.advance(3000);
  await h.close({ magic: false });
  assert.ok(wd.armed);
  assert.is(wd.deadlineMs, 8000);
  clock.advance(4999);
  assert.is(wd.bites, 0);
  clock.advance(1);
  assert.is(wd.bites, 1);
});

closing('reopening a counting watchdog starts a full countdown, with the timeout it keeps', async () => {
  const { clock, wd } = world();
  const first = await wd.open('/dev/watchdog', { timeoutS: 5 });
  await first.close({ magic: false });
  clock.advance(4000);
  const second = await wd.open('/dev/watchdog');
  assert.is(second.timeoutS, 5);
  assert.is(wd.deadlineMs, 9000);
  const keptFor = clock.now();
  await second.close({ magic: false });
  assert.is(wd.deadlineMs, keptFor + 5000);
  const third = await wd.open('/dev/watchdog', { timeoutS: 20 });
  assert.is(wd.deadlineMs, 24_000);
  assert.is(third.timeoutS, 20);
  await third.close({ magic: true });
});

closing('with nowayout even the magic close leaves it counting', async () => {
  const { clock, wd } = world({ nowayout: true });
  const h = await wd.open('/dev/watchdog', { timeoutS: 5 });
  await h.close({ magic: true });
  clock.advance(5000);
  assert.is(wd.bites, 1);
});

closing.run();

// ---

const faults = suite('SimWatchdog late keep-alives (seeded)');

faults('a keep-alive that arrives after the deadline does not save the box', async () => {
  const rng = new Rng(7);
  const { clock, wd } = world({ lateKicks: { rng, chance: 1, delayMs: 2000 } });
  const h = await wd.open('/dev/watchdog', { timeoutS: 5 });
  clock.advance(4000);
  await h.keepAlive();
  clock.advance(999);
  assert.is(wd.bites, 0);
  clock.advance(1);
  assert.is(wd.bites, 1);
  // The late kick lands at 6000, after the bite: it must not feed the next arming.
  await wd.open('/dev/watchdog');
  clock.advance(1000);
  assert.is(wd.deadlineMs, 10_000);
  assert.is(wd.keepAlives, 0);
});

faults('the same seed gives the same bites (seed=42)', async () => {
  const runOnce = async (): Promise<number[]> => {
    const { clock, wd, bites } = world({ lateKicks: { rng: new Rng(42), chance: 0.3, delayMs: 1500 } });
    let h = await wd.open('/dev/watchdog', { timeoutS: 3 });
    for (let i = 0; i < 200; i++) {
      clock.advance(2000);
      if (!h.isOpen) h = await wd.open('/dev/watchdog');
      await h.keepAlive();
    }
    return bites.map((b) => b.atMs);
  };
  const first = await runOnce();
  assert.ok(first.length > 0, 'chance 0.3 over 200 kicks should bite at least once');
  assert.equal(await runOnce(), first);
});

faults.run();
