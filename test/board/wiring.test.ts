import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BoardError } from '../../board/errors.ts';
import { builtinBoard } from '../../board/load.ts';
import { buildDrivers, panelLineNames } from '../../board/wiring.ts';
import { GrubBootSlots } from '../../hal/bootslots/linux.ts';
import { LinuxGpioDriver } from '../../hal/gpio/linux.ts';
import { SimGpioDriver } from '../../hal/gpio/sim.ts';
import { LinuxWatchdog } from '../../hal/watchdog/linux.ts';

const wiring = suite('board wiring');

wiring('the 1U gets the Linux driver for every role', async () => {
  const drivers = buildDrivers(builtinBoard('tandem-1u'));
  assert.instance(drivers.gpio, LinuxGpioDriver);
  assert.instance(drivers.watchdog, LinuxWatchdog);
  assert.instance(drivers.bootSlots, GrubBootSlots);
  assert.equal(drivers.sim, {});
  await drivers.close();
});

wiring('the sim board simulates the panel with the 1U pin map and the watchdog', async () => {
  const board = builtinBoard('sim', { prefix: 'tnd-t1', node: 'a' });
  const drivers = buildDrivers(board, { nsCheck: (ns) => ns === 'tnd-t1-a' });
  assert.instance(drivers.gpio, SimGpioDriver);
  const chip = await drivers.gpio.openChip(board.gpio.chip);
  const led = await chip.request({ line: 'led-active', consumer: 'panel', direction: 'output', initial: 0 });
  await led.set(1);
  assert.is(drivers.sim.panel?.level(board.gpio.leds.active.line), 1);
  await led.close();
  await chip.close();
  assert.ok(drivers.sim.watchdog, 'a simulated watchdog for whoever plays the hardware');
  await drivers.close();
});

wiring('a board bound to a namespace refuses to start outside it, naming the namespace', () => {
  const board = builtinBoard('sim', { prefix: 'tnd-t1', node: 'b' });
  assert.throws(
    () => buildDrivers(board, { nsCheck: () => false }),
    (e: unknown) =>
      e instanceof BoardError && e.field === 'netns' && /ip netns exec tnd-t1-b/.test(e.message),
  );
});

wiring('panel line names put each role at its offset', () => {
  const names = panelLineNames(builtinBoard('tandem-1u'));
  assert.is(names[0], 'led-power');
  assert.is(names[4], 'led-serial-link');
  assert.is(names[8], 'button-failover');
  assert.is(names[12], 'peer-fence');
  assert.is(names[6], undefined);
});

wiring.run();
