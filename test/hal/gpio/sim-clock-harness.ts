/**
 * The contract harness of a driver whose time is a SimClock (the sim, and the Linux driver on the fake
 * library): `wait` advances the clock, and the chip is opened by its kernel name.
 */
import { SimClock } from '../../../hal/clock/sim.ts';
import type { GpioHarness } from './contract.ts';

export function simClockHarness(
  clock: SimClock,
  chip: string,
  pins: Pick<GpioHarness, 'driver' | 'drive' | 'level'>,
): GpioHarness {
  return {
    ...pins,
    chip,
    chipName: chip,
    chipAlias: `/dev/${chip}`,
    wait: async (ms) => {
      clock.advance(ms);
      await SimClock.flush();
    },
    now: () => clock.now(),
    close: async () => {},
  };
}
