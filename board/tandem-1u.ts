import { common } from './common.ts';
import type { Board } from './types.ts';

/**
 * The reference 1U appliance: four NICs, two 16550 UARTs on the back panel (ttyS1 to the peer's null-modem
 * cable, ttyS0 the console), a GPIO expander (gpiochip1) for the front panel and the peer-fence relay, and
 * the chipset's watchdog (iTCO). Buttons pull the line low when pressed.
 */
export const tandem1u: Board = {
  name: 'tandem-1u',
  description: 'Tandem 1U reference appliance',
  serial: common.serial,
  nics: common.nics,
  gpio: {
    driver: 'linux',
    chip: 'gpiochip1',
    leds: {
      power: { line: 0, activeLow: false },
      active: { line: 1, activeLow: false },
      standby: { line: 2, activeLow: false },
      fault: { line: 3, activeLow: false },
      serialLink: { line: 4, activeLow: false },
      ethLink: { line: 5, activeLow: false },
    },
    buttons: {
      failover: { line: 8, activeLow: true },
      reset: { line: 9, activeLow: true },
    },
    peerFence: { line: 12, activeLow: false },
    debounceMs: common.gpioDebounceMs,
  },
  watchdog: common.watchdog,
  bootSlots: common.bootSlots,
  storage: common.storage,
  clock: common.clock,
  netns: common.netns,
  supports: [
    'serial-heartbeat',
    'console',
    'panel',
    'peer-fence',
    'hardware-watchdog',
    'ab-boot',
    'nftables',
    'ipvs',
    'realtime-scheduling',
  ],
};
