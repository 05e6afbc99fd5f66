/**
 * What both drivers' chip and line handles do alike: their names, their edge streams, closing the lines
 * of a chip handle, and the checks that refuse a call (so both faces refuse with the same codes and words).
 * The drivers extend these with how they reach the pins.
 */
import { HalError } from '../errors.ts';
import { EdgeStream } from './edge-stream.ts';
import { type ChipInfo, checkLevel, lineDevice, lineLabel, type ResolvedRequest } from './request.ts';
import type { EdgeEvent, EdgeOptions, GpioLine, Level, LineConfig, LineRequest } from './types.ts';

export abstract class ChipHandleBase<L extends GpioLine> {
  protected readonly lines: L[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly info: ChipInfo) {}

  get name(): string {
    return this.info.name;
  }

  get lineCount(): number {
    return this.info.lineCount;
  }

  get lineNames(): readonly (string | undefined)[] {
    return this.info.lineNames;
  }

  abstract request(request: LineRequest): Promise<GpioLine>;

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const line of [...this.lines].reverse()) await line.close();
    })();
    return this.closing;
  }

  /** HAL_CLOSED once `close()` was called. */
  protected checkOpen(): void {
    const chip = this.info.name;
    if (this.closing)
      throw new HalError('HAL_CLOSED', `GPIO chip ${chip} handle is closed`, { device: chip });
  }

  /** HAL_BUSY when `holder` (the consumer holding the requested line, if any) is set. */
  protected checkFree(resolved: ResolvedRequest, holder: string | undefined): void {
    if (holder === undefined) return;
    const { offset, name } = resolved;
    throw new HalError(
      'HAL_BUSY',
      `${lineLabel(this.info.name, offset, name)} is held by ${JSON.stringify(holder)}`,
      {
        device: lineDevice(this.info.name, offset),
      },
    );
  }

  /** Drops a released line from the lines `close()` closes. */
  protected forget(line: L): void {
    this.lines.splice(this.lines.indexOf(line), 1);
  }
}

export abstract class LineHandleBase {
  readonly chip: string;
  readonly offset: number;
  readonly name: string | undefined;
  readonly config: LineConfig;
  protected readonly device: string;
  protected readonly stream: EdgeStream;
  protected closing: Promise<void> | undefined;

  constructor(chip: string, resolved: ResolvedRequest) {
    this.chip = chip;
    this.offset = resolved.offset;
    this.name = resolved.name;
    this.config = resolved.config;
    this.device = lineDevice(chip, this.offset);
    this.stream = new EdgeStream(this.device);
  }

  get isOpen(): boolean {
    return this.closing === undefined;
  }

  onEdge(listener: (event: EdgeEvent) => void): () => void {
    this.checkEdges();
    return this.stream.on(listener);
  }

  edges(options: EdgeOptions = {}): AsyncIterableIterator<EdgeEvent> {
    this.checkEdges();
    return this.stream.iterate(options.signal);
  }

  /** What `set(value)` refuses on both faces; returns the value to drive. */
  protected checkSet(value: Level): Level {
    this.checkOpen();
    if (this.config.direction !== 'output') {
      throw new HalError('HAL_INVALID_ARGUMENT', `cannot set ${this.label()}: it is an input`, {
        device: this.device,
      });
    }
    return checkLevel(value, this.device, `cannot set ${this.label()}`);
  }

  protected checkOpen(): void {
    if (this.closing) {
      throw new HalError('HAL_CLOSED', `${this.label()} was released`, { device: this.device });
    }
  }

  private checkEdges(): void {
    this.checkOpen();
    if (this.config.edge === 'none') {
      throw new HalError('HAL_INVALID_ARGUMENT', `${this.label()} was requested without edge detection`, {
        device: this.device,
      });
    }
  }

  protected label(): string {
    return lineLabel(this.chip, this.offset, this.name);
  }
}
