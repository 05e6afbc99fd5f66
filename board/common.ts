import type { Board } from './types.ts';

/**
 * What every board shares. A board file states only what differs from these (review rule: a board that
 * repeats a value from here is flagged).
 */
export const common = {
  serial: {
    heartbeat: { driver: 'linux', path: '/dev/ttyS1', baudRate: 115200 },
    console: { driver: 'linux', path: '/dev/ttyS0', baudRate: 115200 },
  },
  nics: { client: 'client0', server: 'server0', heartbeat: 'hb0', management: 'mgmt0' },
  watchdog: { driver: 'linux', device: '/dev/watchdog', timeoutS: 10 },
  bootSlots: {
    driver: 'linux',
    envPath: '/boot/grub/grubenv',
    cmdlinePath: '/proc/cmdline',
    slotA: '/dev/disk/by-partlabel/rootfs-a',
    slotB: '/dev/disk/by-partlabel/rootfs-b',
  },
  storage: {
    journalPath: '/data/tandem/journal.db',
    contentCache: '/data/tandem/content-cache',
    contentMount: '/srv/content',
  },
  gpioDebounceMs: 30,
  clock: 'linux',
  netns: null,
} as const satisfies Partial<Record<keyof Board, unknown>> & { gpioDebounceMs: number };
