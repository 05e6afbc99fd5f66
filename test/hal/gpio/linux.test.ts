/**
 * The Linux driver at its library boundary: the contract and driver-specific checks on a typed fake of
 * node-libgpiod, with the poll loop on a SimClock. The real addon is loaded once at the end (this kernel
 * has no GPIO chip, so it can only say "not found"); linux-chip.test.ts runs on a kernel chip.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimClock } from '../../../hal/clock/sim.ts';
import { HalError } from '../../../hal/errors.ts';
import { LinuxGpioDriver } from '../../../hal/gpio/linux.ts';
import type { EdgeEvent, LineRequest } from '../../../hal/gpio/types.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { CONTRACT_LINES, gpioContract } from './contract.ts';
import { FakeGpioKernel } from './fake-libgpiod.ts';
import { simClockHarness } from './sim-clock-harness.ts';

const CHIP = 'gpiochip2';

gpioContract('linux on a fake libgpiod', async () => {
  const clock = new SimClock();
  const kernel = new FakeGpioKernel();
  kernel.addChip(CHIP, 'tnd-panel', CONTRACT_LINES);
  return simClockHarness(clock, CHIP, {
    driver: new LinuxGpioDriver({ library: kernel.api, clock, pollIntervalMs: 1 }),
    drive: async (offset, level) => kernel.drive(CHIP, offset, level),
    level: async (offset) => kernel.level(CHIP, offset),
  });
});

// ---

interface World {
  clock: SimClock;
  kernel: FakeGpioKernel;
  driver: LinuxGpioDriver;
}

const world = (pollIntervalMs = 5): World => {
  const clock = new SimClock({ startMs: 500 });
  const kernel = new FakeGpioKernel();
  kernel.addChip(CHIP, 'tnd-panel', CONTRACT_LINES);
  return { clock, kernel, driver: new LinuxGpioDriver({ library: kernel.api, clock, pollIntervalMs }) };
};

const input = (extra: Partial<LineRequest> = {}): LineRequest => ({
  line: 'btn-failover',
  consumer: 'panel',
  direction: 'input',
  ...extra,
});

const boundary = suite('linux GPIO: what reaches libgpiod');

boundary('direction, active-low, bias and the initial value become one lineRequest()', async () => {
  const { kernel, driver } = world();
  const chip = await driver.openChip(CHIP);
  await chip.request({ line: 0, consumer: 'panel', direction: 'output', activeLow: true, initial: 1 });
  await chip.request(input({ bias: 'pull-up' }));
  await chip.request(input({ line: 3, bias: 'pull-down', activeLow: true }));
  await chip.request(input({ line: 5, bias: 'disabled' }));
  const { Direction } = kernel.api.Line.RequestType;
  const F = kernel.api.Line.RequestFlags;
  assert.equal(
    kernel.requests.map((r) => [
      r.offset,
      r.config.consumer,
      r.config.requestType,
      r.config.flags,
      r.defaultValue,
    ]),
    [
      [0, 'panel', Direction.OUTPUT, F.ACTIVE_LOW, 1],
      [2, 'panel', Direction.INPUT, F.BIAS_PULL_UP, 0],
      [3, 'panel', Direction.INPUT, F.BIAS_PULL_DOWN | F.ACTIVE_LOW, 0],
      [5, 'panel', Direction.INPUT, F.BIAS_DISABLE, 0],
    ],
  );
  assert.is(kernel.holder(CHIP, 2), 'panel');
  assert.is(kernel.level(CHIP, 2), 1, 'the pull-up reaches the pin');
});

boundary(
  'one Line wrapper per offset for the driver’s life, however often the line is requested',
  async () => {
    const { kernel, driver } = world();
    const first = await driver.openChip(CHIP);
    for (let i = 0; i < 3; i++) await (await first.request(input())).close();
    const second = await driver.openChip(`/dev/${CHIP}`);
    await (await second.request(input())).close();
    assert.is(kernel.wrappersMade.get(`${CHIP}:2`), 1);
  },
);

boundary('opening the chip again does not release lines already held (lineNames quirk)', async () => {
  const { kernel, driver } = world();
  const chip = await driver.openChip(CHIP);
  await chip.request({ line: 'peer-fence', consumer: 'cluster', direction: 'output', initial: 1 });
  const again = await driver.openChip(CHIP);
  assert.equal([...again.lineNames], [...CONTRACT_LINES]);
  assert.is(kernel.holder(CHIP, 4), 'cluster');
  assert.is(kernel.level(CHIP, 4), 1);
});

boundary('only lines with edges or debounce are polled, and polling stops with the last one', async () => {
  const { clock, driver } = world();
  const chip = await driver.openChip(CHIP);
  await chip.request(input({ line: 3 }));
  await chip.request({ line: 0, consumer: 'panel', direction: 'output' });
  assert.is(clock.pendingTimers(), 0);
  const a = await chip.request(input({ edge: 'both' }));
  const b = await chip.request(input({ line: 5, debounceMs: 10 }));
  assert.is(clock.pendingTimers(), 1);
  await a.close();
  assert.is(clock.pendingTimers(), 1);
  await b.close();
  assert.is(clock.pendingTimers(), 0);
});

boundary('edges are dated at the poll that saw them; debounce settles at its deadline', async () => {
  const { clock, kernel, driver } = world(5);
  const chip = await driver.openChip(CHIP);
  const btn = await chip.request(input({ edge: 'both', debounceMs: 12 }));
  const seen: EdgeEvent[] = [];
  btn.onEdge((e) => seen.push(e));
  clock.advance(2); // 502
  kernel.drive(CHIP, 2, 1); // seen by the poll at 505
  clock.advance(16); // 518: settles at 505 + 12 = 517
  assert.equal(seen, [{ offset: 2, edge: 'rising', value: 1, timestampMs: 505 }]);
});

boundary.run();

// ---

const errors = suite('linux GPIO: library errors become HalErrors');

errors('a missing chip is HAL_NOT_FOUND, a refused one HAL_PERMISSION, both naming it', async () => {
  const { kernel, driver } = world();
  const missing = await rejects(driver.openChip('gpiochip7'), withCode('HAL_NOT_FOUND'));
  assert.match(String(missing), 'gpiochip7');
  assert.ok(HalError.is(missing) && missing.cause instanceof Error, 'the errno error is the cause');
  kernel.openFault = 'EACCES';
  const refused = await rejects(driver.openChip(CHIP), withCode('HAL_PERMISSION'));
  assert.match(String(refused), CHIP);
});

errors('a line held by another process is HAL_BUSY', async () => {
  const { kernel, driver } = world();
  kernel.holdElsewhere(CHIP, 4, 'stonithd');
  const chip = await driver.openChip(CHIP);
  const err = await rejects(
    chip.request({ line: 'peer-fence', consumer: 'cluster', direction: 'output' }),
    withCode('HAL_BUSY'),
  );
  assert.match(String(err), 'peer-fence');
});

errors('a read failure while polling ends the iteration with HAL_IO and get() throws it', async () => {
  const { clock, kernel, driver } = world();
  const chip = await driver.openChip(CHIP);
  const btn = await chip.request(input({ edge: 'both' }));
  const next = btn.edges().next();
  kernel.failReads(CHIP, 2);
  clock.advance(10);
  await rejects(next, withCode('HAL_IO'));
  assert.throws(
    () => btn.get(),
    (e: unknown) => HalError.is(e, 'HAL_IO'),
  );
  assert.is(clock.pendingTimers(), 0, 'the failed line is no longer polled');
  await btn.close();
  assert.is(kernel.holder(CHIP, 2), undefined, 'close still releases it');
});

errors('a bad poll interval is HAL_INVALID_ARGUMENT', () => {
  for (const pollIntervalMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => new LinuxGpioDriver({ library: new FakeGpioKernel().api, pollIntervalMs }),
      (e: unknown) => HalError.is(e, 'HAL_INVALID_ARGUMENT'),
    );
  }
});

errors.run();

// ---

const real = suite('linux GPIO: the real node-libgpiod addon');

real('loads, and a chip that does not exist is HAL_NOT_FOUND naming it', async () => {
  const driver = new LinuxGpioDriver();
  const err = await rejects(driver.openChip('gpiochip-tnd-missing'), withCode('HAL_NOT_FOUND'));
  assert.match(String(err), 'gpiochip-tnd-missing');
});

real.run();
