/**
 * The supervisor's hold on the board's watchdog. Open = armed; `feed()` restarts the countdown; a clean
 * shutdown closes it with the magic close (disarmed). On the sim board nothing resets the host, so the
 * supervisor plays the hardware: when the simulated watchdog bites, `onReset` listeners run (the
 * supervisor logs `watchdog reset`, SIGKILLs every service process at once and exits with
 * EXIT_WATCHDOG_RESET), which is what a reset looks like from outside the box.
 */
import type { Drivers } from '../../board/wiring.ts';
import type { WatchdogHandle } from '../../hal/watchdog/types.ts';

export interface WatchdogStatus {
  readonly device: string | null;
  readonly open: boolean;
  /** Keep-alives sent since it was opened. */
  readonly keepAlives: number;
  readonly timeoutS: number | null;
}

export interface WatchdogFeeder {
  feed(): Promise<void>;
  /** The magic close (disarms it). Calling it again does nothing. */
  close(): Promise<void>;
  status(): WatchdogStatus;
  /** Called when the (simulated) watchdog bites. */
  onReset(listener: () => void): void;
}

export async function openWatchdog(
  drivers: Pick<Drivers, 'board' | 'watchdog' | 'sim'>,
  options: { timeoutS?: number } = {},
): Promise<WatchdogFeeder> {
  const device = drivers.board.watchdog.device;
  const handle: WatchdogHandle = await drivers.watchdog.open(device, {
    timeoutS: options.timeoutS ?? drivers.board.watchdog.timeoutS,
  });
  let fed = 0;
  let closed = false;
  return {
    feed: async () => {
      if (closed || !handle.isOpen) return;
      await handle.keepAlive();
      fed++;
    },
    close: async () => {
      if (closed || !handle.isOpen) return;
      closed = true;
      await handle.close({ magic: true });
    },
    status: () => ({ device, open: handle.isOpen, keepAlives: fed, timeoutS: handle.timeoutS }),
    onReset: (listener) => {
      drivers.sim.watchdog?.onBite(() => listener());
    },
  };
}
