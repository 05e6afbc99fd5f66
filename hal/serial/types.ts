/**
 * The serial-port contract. It carries the heartbeat between the two appliances (a null-modem cable) and
 * the operator console. `linux.ts` (on serialport's Linux binding) and `sim.ts` (a simulated cable) both
 * meet every guarantee written here, and test/hal/serial/contract.ts checks them against both.
 *
 * Errors are HalErrors (hal/errors.ts); the code for each fault is stated on the call that raises it.
 */

export type SerialParity = 'none' | 'even' | 'odd';
export type SerialDataBits = 5 | 6 | 7 | 8;
export type SerialStopBits = 1 | 2;

export interface SerialOptions {
  /**
   * Bits per second. Must be one of the standard Linux termios rates (STANDARD_BAUD_RATES in options.ts:
   * 50 … 4000000); any other value rejects with HAL_INVALID_ARGUMENT naming the value.
   */
  baudRate: number;
  /** 5, 6, 7 or 8; default 8. */
  dataBits?: SerialDataBits;
  /** Default 'none'. */
  parity?: SerialParity;
  /** 1 or 2; default 1. */
  stopBits?: SerialStopBits;
}

/** Metadata of a port `list()` found. Only `path` is guaranteed; the rest is undefined when unknown. */
export interface SerialPortInfo {
  /** What `open()` takes. */
  path: string;
  manufacturer: string | undefined;
  serialNumber: string | undefined;
  vendorId: string | undefined;
  productId: string | undefined;
}

/** Options of a call that may wait: an aborted signal ends the wait (see each call). */
export interface WaitOptions {
  signal?: AbortSignal;
}

export interface ReadOptions extends WaitOptions {
  /** The most bytes one read returns: an integer >= 1, default 65536. */
  maxBytes?: number;
}

/** A driver (factory) for serial ports. Services receive one from board wiring; they never build it. */
export interface SerialDriver {
  /**
   * Serial ports present on this machine (the sim: the paths attached to it). Never includes a port's
   * open state; a listed port may still be busy.
   */
  list(): Promise<SerialPortInfo[]>;
  /**
   * Opens `path` with `options`, resolving the defaults once: the port's `options` is the full set.
   * Rejects with HAL_INVALID_ARGUMENT for an empty path or a bad option (naming the field and value),
   * HAL_NOT_FOUND naming the path when it does not exist, HAL_BUSY when this driver already has the port
   * open (under this or another name for the same device) or another process holds its lock,
   * HAL_PERMISSION when the OS refuses. A freshly opened port has nothing buffered from before it opened.
   */
  open(path: string, options: SerialOptions): Promise<SerialPort>;
}

/**
 * An open port. At most one read and one write are in flight at a time: the caller never overlaps
 * them, and an overlapping read or write rejects with HAL_BUSY (the one in flight carries on).
 * Every call made after `close()` rejects with HAL_CLOSED; every read, write or drain still in flight when
 * `close()` is called rejects with HAL_CANCELED. A call whose signal is already aborted rejects at once
 * and does nothing; one whose signal aborts while it waits rejects at once with the signal's reason (a
 * HAL_CANCELED HalError when the reason is not an Error). Listeners on the signal are always removed.
 */
export interface SerialPort {
  /** The path it was opened with. */
  readonly path: string;
  /** The options in force, defaults resolved at open. */
  readonly options: Readonly<Required<SerialOptions>>;
  /** False from the moment `close()` is called. */
  readonly isOpen: boolean;
  /**
   * Resolves with at least one and at most `maxBytes` received bytes, waiting for the first if none is
   * buffered. Bytes are never lost or reordered between reads, including around an aborted read: bytes
   * that arrive after the abort go to the next read. A device failure rejects with HAL_IO.
   */
  read(options?: ReadOptions): Promise<Buffer>;
  /**
   * Queues `bytes` for transmission and resolves when the OS (the sim: the UART's transmit buffer) has
   * taken all of them, which is before they are on the wire: use `drain()` for that. An empty write
   * resolves at once. If aborted, the bytes already handed to the OS are sent and the rest are not.
   * Rejects with HAL_INVALID_ARGUMENT when `bytes` is not a Uint8Array.
   */
  write(bytes: Uint8Array, options?: WaitOptions): Promise<void>;
  /** Resolves when every byte written so far (including a write in flight) has left the port. */
  drain(options?: WaitOptions): Promise<void>;
  /** Discards bytes received but not yet read and bytes written but not yet transmitted. */
  flush(): Promise<void>;
  /**
   * Closes the port: in-flight calls reject with HAL_CANCELED, later calls with HAL_CLOSED, and the path
   * can be opened again once this resolves. Bytes not yet transmitted may be discarded. Calling it again
   * returns the same promise.
   */
  close(): Promise<void>;
  /**
   * The received bytes as chunks, each one `read()`. Iteration ends when the port closes and throws when
   * the signal aborts or a read fails. Only one reader at a time: it holds the read slot while waiting.
   */
  chunks(options?: WaitOptions): AsyncIterable<Buffer>;
}
