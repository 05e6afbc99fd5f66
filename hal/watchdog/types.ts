/**
 * The hardware watchdog contract. The supervisor opens the watchdog (which arms it) and feeds it only while
 * the critical services are healthy; when the feeding stops for `timeoutS` seconds the hardware resets the
 * box. `linux.ts` (the kernel's /dev/watchdog interface) and `sim.ts` (a countdown on a Clock) both meet
 * every guarantee written here, and test/hal/watchdog/contract.ts checks them against both.
 *
 * Errors are HalErrors (hal/errors.ts); the code for each fault is stated on the call that raises it.
 */

export interface WatchdogOpenOptions {
  /**
   * The timeout to program before arming, in whole seconds (an integer >= 1). A value the device cannot
   * take is refused with HAL_INVALID_ARGUMENT. Left out: the device keeps the timeout it has (the kernel
   * keeps a watchdog's timeout across opens).
   */
  timeoutS?: number;
  signal?: AbortSignal;
}

export interface WatchdogDriver {
  /**
   * Opens and thereby arms the watchdog at `device`. From the moment this resolves, the box resets unless
   * `keepAlive()` is called at least every `timeoutS` seconds or the handle is closed with `magic: true`.
   *
   * Rejects with HAL_INVALID_ARGUMENT for a bad `timeoutS` (before the device is touched), HAL_NOT_FOUND
   * when `device` does not exist (the message names it), HAL_BUSY when the device is already open (by this
   * driver or anyone else), HAL_UNSUPPORTED when `device` is not a watchdog, HAL_PERMISSION when the OS
   * refuses, and with the signal's reason (HAL_CANCELED when it is not an Error) when `signal` is or becomes
   * aborted. A rejected open never leaves the watchdog armed by this call (the Linux driver's timeout
   * query does disarm a watchdog left counting by an earlier holder: see hal/watchdog/wdctl.ts).
   */
  open(device: string, options?: WatchdogOpenOptions): Promise<WatchdogHandle>;
}

export interface WatchdogCloseOptions {
  /**
   * True: the magic close ('V' written before closing), which disarms the watchdog, for an orderly shutdown.
   * False: the timer keeps running after the close (the kernel counts the close as one last keep-alive), so
   * the box resets unless someone reopens and feeds it; this is what a crashing supervisor does. There is
   * no default: every caller says which it means.
   */
  magic: boolean;
}

/**
 * An open, armed watchdog. Calls are carried out in the order they are made. Every call made after
 * `close()` has been called (including a second `close()`) rejects with HAL_CLOSED, so a stale handle can
 * never feed or disarm a watchdog that someone else now holds.
 */
export interface WatchdogHandle {
  /** The path it was opened by. */
  readonly device: string;
  /** The timeout in force, in seconds, as the device reports it (it may round a requested value). */
  readonly timeoutS: number;
  /** False from the moment `close()` is called (or, in the sim, the watchdog bit). */
  readonly isOpen: boolean;
  /** Restarts the countdown. Rejects with HAL_CLOSED after close, HAL_IO when the device fails. */
  keepAlive(): Promise<void>;
  /**
   * Waits for keep-alives still in flight, then closes, magically or not (see WatchdogCloseOptions).
   * The device can be opened again once this resolves. HAL_IO when the magic write or the close fails (the
   * handle is closed either way).
   */
  close(options: WatchdogCloseOptions): Promise<void>;
}
