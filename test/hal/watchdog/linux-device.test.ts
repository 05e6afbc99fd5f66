/**
 * The contract on a kernel watchdog (/dev/watchdog; the image's QEMU guest has i6300esb) with the real
 * wdctl. This machine's kernel has no watchdog device, so the file skips here and in CI. Every handle is
 * closed with the magic close, and the timeouts are long: a slip must not reset the guest mid-run.
 */
import { suite } from 'uvu';
import { LinuxWatchdog } from '../../../hal/watchdog/linux.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { kernelHas } from '../../support/needs.ts';
import { watchdogContract } from './contract.ts';

const DEVICE = '/dev/watchdog';

if (kernelHas('watchdog device', [DEVICE])) {
  watchdogContract('linux on a kernel watchdog', async () => ({
    driver: new LinuxWatchdog(),
    device: DEVICE,
    missing: '/dev/tnd-no-watchdog',
    // Passes the driver's own checks (the kernel's UINT_MAX/1000 limit) but no hardware timer takes it.
    tooLargeTimeoutS: 4_294_967,
    close: async () => {},
  }));

  const kernel = suite('LinuxWatchdog: the kernel holds the device');

  kernel('another opener (another driver instance) gets HAL_BUSY from the kernel', async () => {
    const wd = await new LinuxWatchdog().open(DEVICE, { timeoutS: 60 });
    try {
      await rejects(new LinuxWatchdog().open(DEVICE), withCode('HAL_BUSY'));
    } finally {
      await wd.close({ magic: true });
    }
  });

  kernel.run();
}
