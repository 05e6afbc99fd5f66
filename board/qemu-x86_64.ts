import { common } from './common.ts';
import { tandem1u } from './tandem-1u.ts';
import type { Board } from './types.ts';

/**
 * The appliance image under QEMU (pc machine, -accel tcg): ttyS0/ttyS1 are QEMU's two 16550 ports (the
 * second joined to the peer guest's by a socket chardev), virtio NICs renamed to their roles by systemd
 * .link files, the emulated i6300esb watchdog, and the panel on a gpio-mockup chip (the image loads
 * gpio-mockup with 16 lines) with the 1U's pin map. No fence relay exists in a VM.
 */
export const qemuX86_64: Board = {
  ...tandem1u,
  name: 'qemu-x86_64',
  description: 'Tandem image under QEMU x86_64',
  gpio: { ...tandem1u.gpio, chip: 'gpio-mockup-A', peerFence: null },
  watchdog: { ...common.watchdog, timeoutS: 30 },
  supports: ['serial-heartbeat', 'console', 'panel', 'hardware-watchdog', 'ab-boot', 'nftables', 'ipvs'],
};
