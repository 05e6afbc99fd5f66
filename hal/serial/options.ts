import { HalError } from '../errors.ts';
import type { SerialOptions } from './types.ts';

/** The rates Linux termios names (B50 … B4000000): the only ones both drivers accept. */
export const STANDARD_BAUD_RATES: readonly number[] = [
  50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400,
  460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000,
];

export const DEFAULT_MAX_READ = 65536;

const invalid = (device: string, message: string): HalError =>
  new HalError('HAL_INVALID_ARGUMENT', `serial port ${device}: ${message}`, { device });

export function checkPath(path: unknown): string {
  if (typeof path !== 'string' || path === '') {
    throw new HalError(
      'HAL_INVALID_ARGUMENT',
      `serial port path must be a non-empty string, got ${String(path)}`,
    );
  }
  return path;
}

/** Validates `options` for `path` and fills in the defaults. */
export function resolveOptions(path: string, options: SerialOptions): Required<SerialOptions> {
  if (typeof options !== 'object' || options === null) {
    throw invalid(path, `options must be an object, got ${String(options)}`);
  }
  const { baudRate, dataBits = 8, parity = 'none', stopBits = 1 } = options;
  if (!STANDARD_BAUD_RATES.includes(baudRate)) {
    throw invalid(
      path,
      `baudRate must be a standard rate (${STANDARD_BAUD_RATES.join(', ')}), got ${baudRate}`,
    );
  }
  if (![5, 6, 7, 8].includes(dataBits)) throw invalid(path, `dataBits must be 5, 6, 7 or 8, got ${dataBits}`);
  if (!['none', 'even', 'odd'].includes(parity)) {
    throw invalid(path, `parity must be 'none', 'even' or 'odd', got ${String(parity)}`);
  }
  if (![1, 2].includes(stopBits)) throw invalid(path, `stopBits must be 1 or 2, got ${stopBits}`);
  return { baudRate, dataBits, parity, stopBits };
}

export function checkBytes(device: string, bytes: unknown): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw invalid(device, `write takes a Uint8Array or Buffer, got ${typeof bytes}`);
  }
  return bytes;
}

export function checkMaxBytes(device: string, maxBytes: number | undefined): number {
  if (maxBytes === undefined) return DEFAULT_MAX_READ;
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw invalid(device, `maxBytes must be an integer >= 1, got ${maxBytes}`);
  }
  return maxBytes;
}

/** Bits on the wire per character: start bit, data bits, parity bit if any, stop bits (8N1 = 10). */
export function frameBits(options: Required<SerialOptions>): number {
  return 1 + options.dataBits + (options.parity === 'none' ? 0 : 1) + options.stopBits;
}
