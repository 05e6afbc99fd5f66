import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimClock } from '../../../hal/clock/sim.ts';
import { HalError } from '../../../hal/errors.ts';
import { EDGE_BUFFER_LIMIT } from '../../../hal/gpio/edge-stream.ts';
import { SimGpioChip, SimGpioDriver } from '../../../hal/gpio/sim.ts';
import type { EdgeEvent, GpioChip, LineRequest } from '../../../hal/gpio/types.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { CONTRACT_LINES, gpioContract } from './contract.ts';
import { simClockHarness } from './sim-clock-harness.ts';

gpioContract('sim', async () => {
  const clock = new SimClock();
  const chip = new SimGpioChip({ name: 'gpiochip3', label: 'tnd-panel', lines: CONTRACT_LINES, clock });
  return simClockHarness(clock, 'gpiochip3', {
    driver: new SimGpioDriver([chip]),
    drive: async (offset, level) => chip.drive(offset, level),
    level: async (offset) => chip.level(offset),
  });
});

// ---

interface World {
  clock: SimClock;
  chip: SimGpioChip;
  driver: SimGpioDriver;
  handle: GpioChip;
}

const world = async (): Promise<World> => {
  const clock = new SimClock({ startMs: 1000 });
  const chip = new SimGpioChip({ name: 'gpiochip0', label: 'tnd-panel', lines: CONTRACT_LINES, clock });
  const driver = new SimGpioDriver([chip]);
  return { clock, chip, driver, handle: await driver.openChip('gpiochip0') };
};

const button = (extra: Partial<LineRequest> = {}): LineRequest => ({
  line: 'btn-failover',
  consumer: 'panel',
  direction: 'input',
  edge: 'both',
  ...extra,
});

const debounce = suite('sim GPIO debounce, exact times');

debounce(
  'a bouncing press is one rising edge dated at its last bounce, delivered a period later',
  async () => {
    const { clock, chip, handle } = await world();
    const btn = await handle.request(button({ debounceMs: 10 }));
    const seen: EdgeEvent[] = [];
    btn.onEdge((e) => seen.push(e));
    chip.bounce('btn-failover', [1, 0, 1, 0, 1], 1);
    clock.advance(13);
    assert.is(seen.length, 0, 'not yet: the line settled at 1004 and holds until 1014');
    clock.advance(1);
    assert.equal(seen, [{ offset: 2, edge: 'rising', value: 1, timestampMs: 1004 }]);
    chip.bounce('btn-failover', [0, 1, 0], 2);
    clock.advance(100);
    assert.equal(seen[1], { offset: 2, edge: 'falling', value: 0, timestampMs: 1018 });
    assert.is(seen.length, 2);
    assert.is(clock.pendingTimers(), 0, 'no debounce timer left armed');
  },
);

debounce('without debounce every raw change is an edge at the instant it happens', async () => {
  const { clock, chip, handle } = await world();
  const btn = await handle.request(button());
  const seen: EdgeEvent[] = [];
  btn.onEdge((e) => seen.push(e));
  chip.bounce(2, [1, 0, 1], 5);
  clock.advance(20);
  assert.equal(
    seen.map((e) => [e.edge, e.timestampMs]),
    [
      ['rising', 1000],
      ['falling', 1005],
      ['rising', 1010],
    ],
  );
});

debounce('closing a line cancels its pending debounce timer', async () => {
  const { clock, chip, handle } = await world();
  const btn = await handle.request(button({ debounceMs: 50 }));
  chip.drive(2, 1);
  assert.is(clock.pendingTimers(), 1);
  await btn.close();
  assert.is(clock.pendingTimers(), 0);
});

debounce.run();

// ---

const pins = suite('sim GPIO pins');

pins('history records each output change with its time, physical level and logical value', async () => {
  const { clock, chip, handle } = await world();
  const led = await handle.request({
    line: 'led-fault',
    consumer: 'panel',
    direction: 'output',
    activeLow: true,
  });
  for (let i = 0; i < 4; i++) {
    clock.advance(250);
    led.set(led.get() === 1 ? 0 : 1);
  }
  led.set(led.get()); // no change, no entry
  assert.equal(
    chip.history('led-fault').map((c) => [c.atMs, c.level, c.value]),
    [
      [1000, 1, 0],
      [1250, 0, 1],
      [1500, 1, 0],
      [1750, 0, 1],
      [2000, 1, 0],
    ],
  );
  assert.is(chip.history().length, 5);
  assert.is(chip.history(0).length, 0);
  chip.clearHistory();
  assert.is(chip.history().length, 0);
});

pins('a floating input reads its pull; float() hands the pin back to it', async () => {
  const { chip, handle } = await world();
  const up = await handle.request({ line: 2, consumer: 'panel', direction: 'input', bias: 'pull-up' });
  const down = await handle.request({ line: 3, consumer: 'panel', direction: 'input', bias: 'pull-down' });
  assert.is(up.get(), 1);
  assert.is(down.get(), 0);
  chip.drive(2, 0);
  assert.is(up.get(), 0);
  chip.float(2);
  assert.is(up.get(), 1);
});

pins('a released output returns the pin to what drives it from outside', async () => {
  const { chip, handle } = await world();
  chip.drive(4, 0);
  const fence = await handle.request({
    line: 'peer-fence',
    consumer: 'cluster',
    direction: 'output',
    initial: 1,
  });
  assert.is(chip.level(4), 1);
  assert.is(chip.holder('peer-fence'), 'cluster');
  await fence.close();
  assert.is(chip.level(4), 0);
  assert.is(chip.holder(4), undefined);
});

pins('two drivers on one chip (two processes) still hold lines one at a time', async () => {
  const { chip, handle } = await world();
  await handle.request({ line: 0, consumer: 'panel', direction: 'output' });
  const otherProcess = await new SimGpioDriver([chip]).openChip('tnd-panel');
  const err = await rejects(
    otherProcess.request({ line: 0, consumer: 'x', direction: 'output' }),
    withCode('HAL_BUSY'),
  );
  assert.match(String(err), '"panel"');
});

pins('a chip opens by name, path, number or label; test hooks refuse unknown lines', async () => {
  const { chip, driver } = await world();
  for (const id of ['gpiochip0', '/dev/gpiochip0', '0', 'tnd-panel']) {
    assert.is((await driver.openChip(id)).name, 'gpiochip0');
  }
  assert.throws(
    () => chip.drive('nope', 1),
    (e: unknown) => HalError.is(e, 'HAL_NOT_FOUND'),
  );
  assert.throws(
    () => chip.level(8),
    (e: unknown) => HalError.is(e, 'HAL_NOT_FOUND'),
  );
  assert.throws(
    () => new SimGpioChip({ name: 'gpiochip9', lines: 0, clock: new SimClock() }),
    (e: unknown) => HalError.is(e, 'HAL_INVALID_ARGUMENT'),
  );
});

pins.run();

// ---

const events = suite('sim GPIO event delivery');

events('a slow iterator keeps the newest events up to the buffer limit', async () => {
  const { chip, handle } = await world();
  const btn = await handle.request(button());
  const it = btn.edges();
  const total = EDGE_BUFFER_LIMIT + 10;
  for (let i = 1; i <= total; i++) chip.drive(2, i % 2 === 1 ? 1 : 0);
  let count = 0;
  const first = await it.next();
  count++;
  await btn.close();
  while (!(await it.next()).done) count++;
  assert.is(count, EDGE_BUFFER_LIMIT, 'buffered events are still delivered after close');
  assert.is(first.value?.edge, 'rising', 'the oldest 10 were dropped (an even number: still starts rising)');
});

events('a listener that throws does not starve the others, and the error reaches the caller', async () => {
  const { chip, handle } = await world();
  const btn = await handle.request(button());
  const seen: string[] = [];
  btn.onEdge(() => {
    throw new Error('listener bug');
  });
  btn.onEdge((e) => seen.push(e.edge));
  assert.throws(() => chip.drive(2, 1), /listener bug/);
  assert.equal(seen, ['rising']);
});

events('closing the chip handle ends every iteration on its lines', async () => {
  const { handle } = await world();
  const a = await handle.request(button());
  const b = await handle.request(button({ line: 'btn-reset' }));
  const pa = a.edges().next();
  const pb = b.edges().next();
  await handle.close();
  assert.ok((await pa).done);
  assert.ok((await pb).done);
});

events.run();
