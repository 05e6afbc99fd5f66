import { join } from 'node:path';
import { common } from './common.ts';
import { tandem1u } from './tandem-1u.ts';
import type { Board } from './types.ts';

/** Where the testbed keeps its pty links and per-node files. */
export const SIM_STATE_ROOT = '/run/tandem-sim';

export type SimNode = 'a' | 'b';

/**
 * One appliance of the simulated pair built by `tandem sim up`: it runs inside the namespace
 * `<prefix>-<node>`, its heartbeat serial port is its end of the testbed's socat pty pair, its NICs carry
 * the roles' names, and the hardware the testbed cannot provide (GPIO panel, watchdog) is simulated. Its
 * boot slots are the GRUB driver on a per-node environment file and command line, which the testbed
 * provisions and "powers on" (hal/bootslots/sim-files.ts). The pin map is the 1U's, so panel code runs
 * unchanged.
 */
export function simBoard(options: { prefix: string; node: SimNode }): Board {
  const state = join(SIM_STATE_ROOT, options.prefix);
  const nodeDir = join(state, options.node);
  return {
    name: 'sim',
    description: `Simulated appliance ${options.node.toUpperCase()} (testbed ${options.prefix})`,
    serial: {
      heartbeat: { ...common.serial.heartbeat, path: join(state, `serial-${options.node}`) },
      console: { ...common.serial.console, path: join(state, `console-${options.node}`) },
    },
    nics: { ...common.nics, management: null },
    gpio: { ...tandem1u.gpio, driver: 'sim', chip: `sim-panel-${options.node}` },
    watchdog: { ...common.watchdog, driver: 'sim', device: join(nodeDir, 'watchdog') },
    bootSlots: {
      ...common.bootSlots,
      envPath: join(nodeDir, 'grubenv'),
      cmdlinePath: join(nodeDir, 'cmdline'),
    },
    storage: {
      journalPath: join(nodeDir, 'journal.db'),
      contentCache: join(nodeDir, 'content-cache'),
      contentMount: join(nodeDir, 'content'),
    },
    clock: common.clock,
    netns: `${options.prefix}-${options.node}`,
    supports: ['serial-heartbeat', 'console', 'panel', 'peer-fence', 'nftables'],
  };
}
