/**
 * The GPIO contract: the front panel's LEDs and buttons and the peer-fence output are lines on a GPIO chip.
 * `linux.ts` (node-libgpiod on the GPIO character device) and `sim.ts` (a simulated chip on a Clock) both
 * meet every guarantee written here, and test/hal/gpio/contract.ts checks them against both.
 *
 * Values are logical: with `activeLow`, logical 1 is a low level on the pin. Edge events and `get()` on an
 * input report logical values too. Errors are HalErrors (hal/errors.ts); the code for each fault is stated
 * on the call that raises it.
 */

/** A logical line value. */
export type Level = 0 | 1;

export type Direction = 'input' | 'output';

/** The pin's internal resistor. 'as-is' leaves whatever the firmware or a previous user set. */
export type Bias = 'as-is' | 'disabled' | 'pull-up' | 'pull-down';

export type EdgeKind = 'rising' | 'falling';

/** Which logical edges of an input produce events. */
export type EdgeDetect = 'none' | EdgeKind | 'both';

export interface LineRequest {
  /** The line's offset on the chip (an integer from 0 to lineCount - 1) or its name (the first line so named). */
  line: number | string;
  /** Who holds the line, as `gpioinfo` shows it: 1 to 31 bytes of UTF-8. */
  consumer: string;
  direction: Direction;
  /** Outputs only: the logical value driven from the moment of the request. Default 0. */
  initial?: Level;
  /** Logical 1 is a low level on the pin. Default false. */
  activeLow?: boolean;
  /** Default 'as-is'. */
  bias?: Bias;
  /** Inputs only. Default 'none': `onEdge()` and `edges()` are refused. */
  edge?: EdgeDetect;
  /**
   * Inputs only: a change counts only once the line has held the new value for this many milliseconds
   * (finite, >= 0; default 0). Both `get()` and edge events see the debounced value.
   */
  debounceMs?: number;
}

/** A request with every default resolved: what a line handle was granted. */
export interface LineConfig {
  readonly consumer: string;
  readonly direction: Direction;
  /** 0 for inputs. */
  readonly initial: Level;
  readonly activeLow: boolean;
  readonly bias: Bias;
  /** 'none' for outputs. */
  readonly edge: EdgeDetect;
  /** 0 for outputs. */
  readonly debounceMs: number;
}

export interface EdgeEvent {
  /** The line's offset on its chip. */
  readonly offset: number;
  readonly edge: EdgeKind;
  /** The logical value after the edge: 1 for rising, 0 for falling. */
  readonly value: Level;
  /**
   * Monotonic milliseconds on the driver's Clock at which the line took the new value (with debounce: the
   * last change before it held steady). Events of one line come in nondecreasing timestamp order. The
   * Linux driver samples the line, so its timestamps are as fine as its poll interval.
   */
  readonly timestampMs: number;
}

export interface EdgeOptions {
  signal?: AbortSignal;
}

/**
 * A requested line. Every call made after `close()` throws (or rejects with) HAL_CLOSED, except `close()`
 * itself.
 */
export interface GpioLine {
  /** The chip's kernel name (e.g. 'gpiochip0'). */
  readonly chip: string;
  readonly offset: number;
  /** The line's name on the chip, or undefined when it has none. */
  readonly name: string | undefined;
  readonly config: LineConfig;
  /** False from the moment `close()` is called. */
  readonly isOpen: boolean;
  /**
   * The line's logical value: the debounced input, or what an output drives. A device failure throws
   * HAL_IO.
   */
  get(): Level;
  /**
   * Drives an output to a logical value. Throws HAL_INVALID_ARGUMENT on an input line or for a value other
   * than 0 or 1 (naming the line and the value), HAL_IO when the device fails.
   */
  set(value: Level): void;
  /**
   * Calls `listener` synchronously for every edge that passes the line's `edge` filter, from now until the
   * returned function is called or the line closes. Throws HAL_INVALID_ARGUMENT when the line was
   * requested without edge detection. An exception thrown by a listener propagates to whoever made the
   * line change (the sim's test hook, the driver's poll); listeners must not throw.
   */
  onEdge(listener: (event: EdgeEvent) => void): () => void;
  /**
   * The same edges as an async iterable, buffered from the moment of this call (at most 256; beyond that
   * the oldest are dropped). Iteration ends when the line closes and throws the signal's reason (a
   * HAL_CANCELED HalError when that is not an Error) when the signal aborts; breaking out of the loop
   * detaches it. Throws HAL_INVALID_ARGUMENT like `onEdge()`, and rejects at once if the signal is already
   * aborted.
   */
  edges(options?: EdgeOptions): AsyncIterableIterator<EdgeEvent>;
  /**
   * Releases the line: edge iterations end, listeners are dropped, pending debounce timers are cancelled,
   * and the line can be requested again once this resolves. What the pin does after release is up to the
   * hardware (the sim: it returns to what drives it from outside, else its pull). Calling it again returns
   * the same promise.
   */
  close(): Promise<void>;
}

/** An opened chip. A chip handle owns the lines requested through it. */
export interface GpioChip {
  /** The kernel name, e.g. 'gpiochip0', whatever name the chip was opened by. */
  readonly name: string;
  readonly lineCount: number;
  /** Per offset, the line's name or undefined. */
  readonly lineNames: readonly (string | undefined)[];
  /**
   * Requests one line. Rejects with HAL_INVALID_ARGUMENT for a malformed request (naming the field and the
   * value), HAL_NOT_FOUND naming the chip and the offset or name when the line does not exist, HAL_BUSY
   * when the line is held (through this or any other handle, or by another process), HAL_PERMISSION when
   * the OS refuses, HAL_CLOSED after `close()`.
   */
  request(request: LineRequest): Promise<GpioLine>;
  /** Closes every line requested through this handle, last first. Calling it again returns the same promise. */
  close(): Promise<void>;
}

/** A driver (factory) for GPIO chips. Services receive one from board wiring; they never build it. */
export interface GpioDriver {
  /**
   * Opens a chip by its kernel name ('gpiochip0'), its device path ('/dev/gpiochip0'), its number ('0') or
   * its label. Rejects with HAL_INVALID_ARGUMENT for an empty name, HAL_NOT_FOUND naming it when no such
   * chip exists, HAL_PERMISSION when the OS refuses, HAL_UNSUPPORTED when the GPIO library is missing. A
   * chip may be opened any number of times; its lines are still held by one handle at a time.
   */
  openChip(name: string): Promise<GpioChip>;
}
