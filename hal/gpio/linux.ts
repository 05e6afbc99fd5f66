/**
 * The Linux GPIO driver: node-libgpiod (libgpiod 1.x on the GPIO character device). The library can
 * request, read, write and release lines (with active-low and bias flags) but cannot read edge events, so
 * lines with edge detection or debounce are polled on the Clock and run through the shared debouncer:
 * event timestamps are as fine as `pollIntervalMs`. The library arrives as a constructor argument so a test
 * can pass a typed fake of it.
 */
import { LinuxClock } from '../clock/linux.ts';
import type { Clock, Timer } from '../clock/types.ts';
import { fromSystemError, HalError } from '../errors.ts';
import { ChipHandleBase, LineHandleBase } from './handles.ts';
import { InputTracker } from './input-tracker.ts';
import { type LibgpiodApi, type LibgpiodChip, type LibgpiodLine, loadLibgpiod } from './libgpiod.ts';
import {
  type ChipInfo,
  checkChipName,
  lineDevice,
  lineLabel,
  type ResolvedRequest,
  resolveRequest,
} from './request.ts';
import type { GpioChip, GpioDriver, GpioLine, Level, LineConfig, LineRequest } from './types.ts';

export interface LinuxGpioOptions {
  /** node-libgpiod's API; default: the real addon, loaded at the first openChip(). */
  library?: LibgpiodApi;
  /** Default: the host's monotonic clock. */
  clock?: Clock;
  /** How often lines with edge detection or debounce are sampled, in ms (> 0); default 2. */
  pollIntervalMs?: number;
}

/**
 * One kernel chip as this driver holds it. It lives as long as the driver: node-libgpiod releases a line
 * when any Line wrapper of its offset is garbage-collected, and closes the chip (releasing every line)
 * when the Chip object is, so wrappers are made once per offset and never dropped.
 */
interface NativeChip {
  readonly chip: LibgpiodChip;
  readonly info: ChipInfo;
  readonly wrappers: Map<number, LibgpiodLine>;
  /** Offset → consumer of the lines this driver holds. */
  readonly holders: Map<number, string>;
}

export class LinuxGpioDriver implements GpioDriver {
  readonly clock: Clock;
  readonly pollIntervalMs: number;
  private library: LibgpiodApi | undefined;
  private readonly chips = new Map<string, NativeChip>();
  private readonly polled = new Set<LinuxGpioLine>();
  private pollTimer: Timer | undefined;

  constructor(options: LinuxGpioOptions = {}) {
    const pollIntervalMs = options.pollIntervalMs ?? 2;
    if (!Number.isFinite(pollIntervalMs) || pollIntervalMs <= 0) {
      throw new HalError(
        'HAL_INVALID_ARGUMENT',
        `GPIO pollIntervalMs must be a finite number of milliseconds > 0, got ${pollIntervalMs}`,
        { device: 'gpio' },
      );
    }
    this.pollIntervalMs = pollIntervalMs;
    this.library = options.library;
    this.clock = options.clock ?? new LinuxClock();
  }

  async openChip(name: string): Promise<GpioChip> {
    const id = checkChipName(name);
    this.library ??= loadLibgpiod();
    let chip: LibgpiodChip;
    let info: ChipInfo;
    try {
      chip = new this.library.Chip(id);
      const lineCount = chip.numberOfLines;
      // lineNames releases every line requested through this Chip object: read it only while it has none.
      const names = chip.lineNames;
      info = { name: chip.name, lineCount, lineNames: Array.from({ length: lineCount }, (_, i) => names[i]) };
    } catch (err) {
      throw libError(err, id, `cannot open GPIO chip ${JSON.stringify(id)}`);
    }
    let native = this.chips.get(info.name);
    if (native === undefined) {
      native = { chip, info, wrappers: new Map(), holders: new Map() };
      this.chips.set(info.name, native);
    }
    return new LinuxGpioChip(native, this.library, this);
  }

  /** Starts sampling `line` every poll interval. */
  watch(line: LinuxGpioLine): void {
    this.polled.add(line);
    this.pollTimer ??= this.clock.setTimer(this.pollIntervalMs, this.poll);
  }

  unwatch(line: LinuxGpioLine): void {
    this.polled.delete(line);
    if (this.polled.size > 0) return;
    this.pollTimer?.cancel();
    this.pollTimer = undefined;
  }

  private readonly poll = (): void => {
    // Re-armed first, so a listener that throws cannot stop the sampling of every other line.
    this.pollTimer = this.clock.setTimer(this.pollIntervalMs, this.poll);
    for (const line of [...this.polled]) line.sample();
  };
}

class LinuxGpioChip extends ChipHandleBase<LinuxGpioLine> implements GpioChip {
  constructor(
    private readonly native: NativeChip,
    private readonly library: LibgpiodApi,
    private readonly driver: LinuxGpioDriver,
  ) {
    super(native.info);
  }

  async request(request: LineRequest): Promise<GpioLine> {
    const { info, holders, wrappers } = this.native;
    this.checkOpen();
    const resolved = resolveRequest(info, request);
    const { offset, name, config } = resolved;
    const device = lineDevice(info.name, offset);
    const label = lineLabel(info.name, offset, name);
    this.checkFree(resolved, holders.get(offset));
    let wrapper = wrappers.get(offset);
    try {
      if (wrapper === undefined) {
        wrapper = this.native.chip.getLine(offset);
        wrappers.set(offset, wrapper);
      }
      wrapper.lineRequest(
        { consumer: config.consumer, requestType: this.requestType(config), flags: this.flags(config) },
        config.initial,
      );
    } catch (err) {
      throw libError(err, device, `cannot request ${label}`);
    }
    holders.set(offset, config.consumer);
    let line: LinuxGpioLine;
    try {
      line = new LinuxGpioLine(info.name, resolved, wrapper, this.driver, () => {
        holders.delete(offset);
        this.forget(line);
      });
    } catch (err) {
      wrapper.release();
      holders.delete(offset);
      throw err;
    }
    this.lines.push(line);
    return line;
  }

  private requestType(config: LineConfig): number {
    const { Direction } = this.library.Line.RequestType;
    return config.direction === 'output' ? Direction.OUTPUT : Direction.INPUT;
  }

  private flags(config: LineConfig): number {
    const f = this.library.Line.RequestFlags;
    const bias =
      config.bias === 'disabled'
        ? f.BIAS_DISABLE
        : config.bias === 'pull-up'
          ? f.BIAS_PULL_UP
          : config.bias === 'pull-down'
            ? f.BIAS_PULL_DOWN
            : 0;
    return (config.activeLow ? f.ACTIVE_LOW : 0) | bias;
  }
}

class LinuxGpioLine extends LineHandleBase implements GpioLine {
  private readonly tracker: InputTracker | undefined;
  private fault: HalError | undefined;

  constructor(
    chip: string,
    resolved: ResolvedRequest,
    private readonly wrapper: LibgpiodLine,
    private readonly driver: LinuxGpioDriver,
    private readonly onRelease: () => void,
  ) {
    super(chip, resolved);
    const { edge, debounceMs } = this.config;
    if (this.config.direction === 'input' && (edge !== 'none' || debounceMs > 0)) {
      this.tracker = new InputTracker(driver.clock, this.offset, edge, debounceMs, this.stream, this.read());
      driver.watch(this);
    }
  }

  get(): Level {
    this.checkOpen();
    if (this.tracker === undefined) return this.read();
    this.sample();
    if (this.fault) throw this.fault;
    return this.tracker.value();
  }

  set(value: Level): void {
    const level = this.checkSet(value);
    try {
      this.wrapper.setValue(level);
    } catch (err) {
      throw libError(err, this.device, `cannot set ${this.label()}`);
    }
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.driver.unwatch(this);
    this.tracker?.close();
    this.stream.end();
    this.wrapper.release();
    this.onRelease();
    this.closing = Promise.resolve();
    return this.closing;
  }

  /** One poll: feeds the current value to the debouncer; a failing device ends the line's edges. */
  sample(): void {
    if (this.tracker === undefined || this.fault) return;
    let raw: Level;
    try {
      raw = this.read();
    } catch (err) {
      this.fault = err instanceof HalError ? err : libError(err, this.device, `cannot read ${this.label()}`);
      this.driver.unwatch(this);
      this.stream.fail(this.fault);
      return;
    }
    this.tracker.sample(raw);
  }

  private read(): Level {
    let value: number;
    try {
      value = this.wrapper.getValue();
    } catch (err) {
      throw libError(err, this.device, `cannot read ${this.label()}`);
    }
    return value === 0 ? 0 : 1;
  }
}

/** A library (errno) error as a HalError: the code from its errno, the message saying what failed. */
function libError(err: unknown, device: string, what: string): HalError {
  if (err instanceof HalError) return err;
  const { code } = fromSystemError(err, device, what);
  const detail = err instanceof Error ? err.message : String(err);
  return new HalError(code, `${what}: ${detail}`, { device, cause: err });
}
