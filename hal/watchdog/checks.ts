import { HalError } from '../errors.ts';
import type { WatchdogCloseOptions } from './types.ts';

/** The kernel's watchdog core refuses timeouts whose milliseconds overflow an unsigned int. */
const KERNEL_MAX_TIMEOUT_S = Math.floor(0xffff_ffff / 1000);

/** What both drivers refuse before touching the device, with the same errors. */
export function checkOpenArgs(device: unknown, timeoutS: unknown): asserts device is string {
  if (typeof device !== 'string' || device === '') {
    throw new HalError(
      'HAL_INVALID_ARGUMENT',
      `watchdog device must be a non-empty path, got ${String(device)}`,
    );
  }
  if (timeoutS === undefined) return;
  if (typeof timeoutS !== 'number' || !Number.isInteger(timeoutS) || timeoutS < 1) {
    throw new HalError(
      'HAL_INVALID_ARGUMENT',
      `watchdog ${device}: timeoutS must be a whole number of seconds >= 1, got ${String(timeoutS)}`,
      { device },
    );
  }
  if (timeoutS > KERNEL_MAX_TIMEOUT_S) {
    throw new HalError(
      'HAL_INVALID_ARGUMENT',
      `watchdog ${device}: timeoutS ${timeoutS} exceeds the kernel's limit of ${KERNEL_MAX_TIMEOUT_S} s`,
      { device },
    );
  }
}

export function checkCloseArgs(device: string, options: unknown): asserts options is WatchdogCloseOptions {
  const magic =
    typeof options === 'object' && options !== null && 'magic' in options ? options.magic : undefined;
  if (typeof magic !== 'boolean') {
    throw new HalError(
      'HAL_INVALID_ARGUMENT',
      `watchdog ${device}: close() needs { magic: true } (disarm) or { magic: false } (keep counting)`,
      { device },
    );
  }
}

export function closedError(device: string, why = 'was closed'): HalError {
  return new HalError('HAL_CLOSED', `watchdog ${device} ${why}`, { device });
}

export function busyError(device: string): HalError {
  return new HalError('HAL_BUSY', `watchdog ${device} is already open`, { device });
}
