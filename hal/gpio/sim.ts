/**
 * The simulated GPIO driver. A `SimGpioChip` is the hardware of one simulated world: its pins, what drives
 * them from outside, and who holds them. A test drives inputs (`drive`, `float`, `bounce`) and reads
 * outputs (`level`, `history`); `SimGpioDriver` opens chips the way the Linux driver does and refuses
 * exactly what it refuses, with the same codes. Time comes only from the Clock the chip is given.
 */
import type { Clock, Timer } from '../clock/types.ts';
import { HalError } from '../errors.ts';
import { ChipHandleBase, LineHandleBase } from './handles.ts';
import { InputTracker } from './input-tracker.ts';
import {
  type ChipInfo,
  checkChipName,
  checkLevel,
  lineDevice,
  type ResolvedRequest,
  resolveLine,
  resolveRequest,
} from './request.ts';
import type { GpioChip, GpioDriver, GpioLine, Level, LineRequest } from './types.ts';

export interface SimGpioChipOptions {
  /** The kernel-style name, e.g. 'gpiochip0'. */
  name: string;
  /** What `openChip()` also accepts, like a kernel chip's label. */
  label?: string;
  /** How many lines, or each line's name (undefined for an unnamed line). */
  lines: number | readonly (string | undefined)[];
  clock: Clock;
}

/** One change of a driven output, as the pin saw it. */
export interface OutputChange {
  readonly offset: number;
  readonly name: string | undefined;
  readonly consumer: string;
  /** The physical level on the pin after the change. */
  readonly level: Level;
  /** The logical value the consumer set (differs from `level` on an active-low line). */
  readonly value: Level;
  /** The chip's Clock reading. */
  readonly atMs: number;
}

interface Pin {
  /** What the outside world drives; undefined when nothing does. */
  external: Level | undefined;
  holder: SimGpioLine | undefined;
}

/** The pins and their owners: shared by the test-facing chip and every handle opened on it. */
class ChipModel implements ChipInfo {
  readonly lineCount: number;
  readonly lineNames: readonly (string | undefined)[];
  readonly pins: Pin[];
  readonly changes: OutputChange[] = [];

  constructor(
    readonly name: string,
    readonly label: string | undefined,
    lines: number | readonly (string | undefined)[],
    readonly clock: Clock,
  ) {
    this.lineNames = typeof lines === 'number' ? Array.from({ length: lines }, () => undefined) : [...lines];
    this.lineCount = this.lineNames.length;
    this.pins = this.lineNames.map(() => ({ external: undefined, holder: undefined }));
  }

  pin(offset: number): Pin {
    return this.pins[offset] as Pin;
  }

  /** The physical level: the holding output's, else the outside drive, else the holder's pull, else 0. */
  level(offset: number): Level {
    const { external, holder } = this.pin(offset);
    const driven = holder?.physicalOutput();
    if (driven !== undefined) return driven;
    if (external !== undefined) return external;
    return holder?.config.bias === 'pull-up' ? 1 : 0;
  }

  /** Tells the holding input that the pin may have changed. */
  changed(offset: number): void {
    this.pin(offset).holder?.sample();
  }
}

export class SimGpioChip {
  private readonly model: ChipModel;

  constructor(options: SimGpioChipOptions) {
    const name = checkChipName(options.name);
    const { lines } = options;
    const ok =
      typeof lines === 'number'
        ? Number.isInteger(lines) && lines > 0
        : Array.isArray(lines) &&
          lines.length > 0 &&
          lines.every((l) => l === undefined || typeof l === 'string');
    if (!ok) {
      throw new HalError(
        'HAL_INVALID_ARGUMENT',
        `sim GPIO chip ${name}: lines must be a count > 0 or names`,
        {
          device: name,
        },
      );
    }
    this.model = new ChipModel(name, options.label, lines, options.clock);
  }

  get name(): string {
    return this.model.name;
  }

  get label(): string | undefined {
    return this.model.label;
  }

  get lineCount(): number {
    return this.model.lineCount;
  }

  get lineNames(): readonly (string | undefined)[] {
    return this.model.lineNames;
  }

  /** A handle on this chip: what SimGpioDriver.openChip() returns for it. */
  open(): GpioChip {
    return new SimChipHandle(this.model);
  }

  /** Test hook: the outside world drives the pin (offset or name) to a physical level from now on. */
  drive(line: number | string, level: Level): void {
    const { offset } = resolveLine(this.model, line);
    this.model.pin(offset).external = checkLevel(level, lineDevice(this.name, offset), `drive ${this.name}`);
    this.model.changed(offset);
  }

  /** Test hook: nothing outside drives the pin any more; it reads its pull (pull-up 1, else 0). */
  float(line: number | string): void {
    const { offset } = resolveLine(this.model, line);
    this.model.pin(offset).external = undefined;
    this.model.changed(offset);
  }

  /**
   * Test hook: drives `levels[i]` at `i * intervalMs` from now (the first at once), as a bouncing contact
   * does. The returned timer cancels the drives still to come.
   */
  bounce(line: number | string, levels: readonly Level[], intervalMs: number): Timer {
    const { offset } = resolveLine(this.model, line);
    for (const level of levels) checkLevel(level, lineDevice(this.name, offset), `bounce ${this.name}`);
    const timers = levels
      .slice(1)
      .map((level, i) => this.model.clock.setTimer((i + 1) * intervalMs, () => this.drive(offset, level)));
    const first = levels[0];
    if (first !== undefined) this.drive(offset, first);
    return {
      cancel: () => {
        for (const t of timers) t.cancel();
      },
    };
  }

  /** Test hook: the pin's physical level (what an LED shows). */
  level(line: number | string): Level {
    return this.model.level(resolveLine(this.model, line).offset);
  }

  /** Test hook: the consumer holding the line, or undefined when it is free. */
  holder(line: number | string): string | undefined {
    return this.model.pin(resolveLine(this.model, line).offset).holder?.config.consumer;
  }

  /** Test hook: every output change so far (of one line, when given), oldest first. */
  history(line?: number | string): OutputChange[] {
    if (line === undefined) return [...this.model.changes];
    const { offset } = resolveLine(this.model, line);
    return this.model.changes.filter((c) => c.offset === offset);
  }

  /** Test hook: forgets the history. */
  clearHistory(): void {
    this.model.changes.length = 0;
  }
}

/** The simulated GpioDriver: opens the chips of one simulated world. */
export class SimGpioDriver implements GpioDriver {
  private readonly chips: readonly SimGpioChip[];

  constructor(chips: readonly SimGpioChip[]) {
    this.chips = [...chips];
  }

  async openChip(name: string): Promise<GpioChip> {
    const id = checkChipName(name);
    const chip = this.chips.find(
      (c) =>
        id === c.name ||
        id === `/dev/${c.name}` ||
        id === c.label ||
        (/^\d+$/.test(id) && c.name === `gpiochip${Number(id)}`),
    );
    if (chip === undefined) {
      throw new HalError('HAL_NOT_FOUND', `cannot open GPIO chip ${JSON.stringify(id)}: no such chip`, {
        device: id,
      });
    }
    return chip.open();
  }
}

class SimChipHandle extends ChipHandleBase<SimGpioLine> implements GpioChip {
  constructor(private readonly model: ChipModel) {
    super(model);
  }

  async request(request: LineRequest): Promise<GpioLine> {
    this.checkOpen();
    const resolved = resolveRequest(this.model, request);
    const pin = this.model.pin(resolved.offset);
    this.checkFree(resolved, pin.holder?.config.consumer);
    const line = new SimGpioLine(this.model, resolved, () => {
      pin.holder = undefined;
      this.forget(line);
    });
    pin.holder = line;
    line.start();
    this.lines.push(line);
    return line;
  }
}

class SimGpioLine extends LineHandleBase implements GpioLine {
  private tracker: InputTracker | undefined;
  /** The logical value an output drives. */
  private output: Level;

  constructor(
    private readonly model: ChipModel,
    resolved: ResolvedRequest,
    private readonly onRelease: () => void,
  ) {
    super(model.name, resolved);
    this.output = this.config.initial;
  }

  /** Called once the line holds its pin. */
  start(): void {
    if (this.config.direction === 'output') {
      this.record();
      return;
    }
    const { edge, debounceMs } = this.config;
    this.tracker = new InputTracker(
      this.model.clock,
      this.offset,
      edge,
      debounceMs,
      this.stream,
      this.logical(),
    );
  }

  /** The physical level this line drives, or undefined for an input. */
  physicalOutput(): Level | undefined {
    if (this.config.direction !== 'output') return undefined;
    return this.toPhysical(this.output);
  }

  /** The pin may have changed: feed the input's tracker. */
  sample(): void {
    this.tracker?.sample(this.logical());
  }

  get(): Level {
    this.checkOpen();
    return this.tracker === undefined ? this.output : this.tracker.value();
  }

  set(value: Level): void {
    const level = this.checkSet(value);
    if (level === this.output) return;
    this.output = level;
    this.record();
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = Promise.resolve();
    this.tracker?.close();
    this.stream.end();
    this.onRelease();
    return this.closing;
  }

  private logical(): Level {
    return this.toPhysical(this.model.level(this.offset));
  }

  /** Active-low inverts both ways: logical to physical and back. */
  private toPhysical(value: Level): Level {
    if (!this.config.activeLow) return value;
    return value === 1 ? 0 : 1;
  }

  private record(): void {
    this.model.changes.push({
      offset: this.offset,
      name: this.name,
      consumer: this.config.consumer,
      level: this.toPhysical(this.output),
      value: this.output,
      atMs: this.model.clock.now(),
    });
  }
}
