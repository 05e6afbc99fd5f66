/**
 * A typed fake of the node-libgpiod API the Linux driver uses (hal/gpio/libgpiod.ts), over a fake kernel:
 * chips with pins that a test drives, line ownership across Chip objects (as across file descriptors),
 * libgpiod's errno errors, and its quirk that reading `lineNames` releases every line requested through
 * that Chip object. Each FakeGpioKernel is its own world.
 */
import type {
  LibgpiodApi,
  LibgpiodChip,
  LibgpiodLine,
  LibgpiodRequestConfig,
} from '../../../hal/gpio/libgpiod.ts';
import type { Level } from '../../../hal/gpio/types.ts';

/** libgpiod 1.6's numbers. */
const DIRECTION = { INPUT: 2, OUTPUT: 3 } as const;
const FLAGS = {
  ACTIVE_LOW: 1 << 2,
  BIAS_DISABLE: 1 << 3,
  BIAS_PULL_DOWN: 1 << 4,
  BIAS_PULL_UP: 1 << 5,
} as const;

const STRERROR: Record<string, [number, string]> = {
  ENOENT: [2, 'No such file or directory'],
  EIO: [5, 'Input/output error'],
  EACCES: [13, 'Permission denied'],
  EBUSY: [16, 'Device or resource busy'],
  EINVAL: [22, 'Invalid argument'],
  EPERM: [1, 'Operation not permitted'],
};

/** An Error shaped like Nan::ErrnoException's. */
export function errnoError(code: keyof typeof STRERROR, syscall: string): Error {
  const [errno, text] = STRERROR[code] ?? [0, 'Unknown error'];
  return Object.assign(new Error(`${code}, ${text}`), { code, errno, syscall });
}

interface Request {
  consumer: string;
  output: boolean;
  flags: number;
  /** Logical value of an output. */
  value: Level;
  /** Which Chip object's native line holds it. */
  owner: object;
}

interface FakePin {
  external: Level | undefined;
  request: Request | undefined;
  /** Makes getValue fail with this errno. */
  fault: 'EIO' | undefined;
}

interface FakeChipSpec {
  name: string;
  label: string;
  names: (string | undefined)[];
  pins: FakePin[];
}

export interface RequestCall {
  chip: string;
  offset: number;
  config: LibgpiodRequestConfig;
  defaultValue: number | undefined;
}

export class FakeGpioKernel {
  readonly api: LibgpiodApi;
  readonly requests: RequestCall[] = [];
  /** How many Line wrappers getLine() made, per `chip:offset`. */
  readonly wrappersMade = new Map<string, number>();
  /** When set, opening any chip fails with this errno. */
  openFault: 'EACCES' | undefined;
  private readonly chips: FakeChipSpec[] = [];

  constructor() {
    this.api = {
      Chip: this.chipClass(),
      Line: { RequestType: { Direction: DIRECTION }, RequestFlags: FLAGS },
    };
  }

  addChip(name: string, label: string, names: readonly (string | undefined)[]): void {
    this.chips.push({
      name,
      label,
      names: [...names],
      pins: names.map(() => ({ external: undefined, request: undefined, fault: undefined })),
    });
  }

  /** The outside world drives a pin. */
  drive(chip: string, offset: number, level: Level): void {
    this.pin(chip, offset).external = level;
  }

  /** A pin's physical level: the output's, else the outside drive, else its pull, else 0. */
  level(chip: string, offset: number): Level {
    const { external, request } = this.pin(chip, offset);
    if (request?.output) return request.flags & FLAGS.ACTIVE_LOW ? flip(request.value) : request.value;
    if (external !== undefined) return external;
    return request !== undefined && request.flags & FLAGS.BIAS_PULL_UP ? 1 : 0;
  }

  /** The consumer holding the pin, if any. */
  holder(chip: string, offset: number): string | undefined {
    return this.pin(chip, offset).request?.consumer;
  }

  /** Another process takes the pin. */
  holdElsewhere(chip: string, offset: number, consumer: string): void {
    this.pin(chip, offset).request = { consumer, output: false, flags: 0, value: 0, owner: {} };
  }

  failReads(chip: string, offset: number): void {
    this.pin(chip, offset).fault = 'EIO';
  }

  private pin(chip: string, offset: number): FakePin {
    const pin = this.chips.find((c) => c.name === chip)?.pins[offset];
    if (pin === undefined) throw new Error(`fake kernel has no ${chip}:${offset}`);
    return pin;
  }

  private lookup(id: string): FakeChipSpec {
    if (this.openFault) throw errnoError(this.openFault, `Chip::new - Unable to open device ${id}`);
    const spec = this.chips.find(
      (c) => c.name === id || `/dev/${c.name}` === id || c.label === id || `gpiochip${id}` === c.name,
    );
    if (spec === undefined) throw errnoError('ENOENT', `Chip::new - Unable to open device ${id}`);
    return spec;
  }

  private chipClass(): LibgpiodApi['Chip'] {
    const kernel = this;
    return class FakeChip implements LibgpiodChip {
      private readonly spec: FakeChipSpec;
      /** This object's native lines (libgpiod caches one per offset per chip). */
      private readonly natives = new Map<number, object>();

      constructor(identifier: string) {
        this.spec = kernel.lookup(identifier);
      }

      get name(): string {
        return this.spec.name;
      }

      get numberOfLines(): number {
        return this.spec.pins.length;
      }

      get lineNames(): readonly (string | undefined)[] {
        for (const pin of this.spec.pins) {
          if (pin.request !== undefined && [...this.natives.values()].includes(pin.request.owner)) {
            pin.request = undefined;
          }
        }
        return [...this.spec.names];
      }

      getLine(offset: number): LibgpiodLine {
        const pin = this.spec.pins[offset];
        if (pin === undefined) throw errnoError('EINVAL', `Line::new - Unable to open GPIO line ${offset}`);
        const key = `${this.spec.name}:${offset}`;
        kernel.wrappersMade.set(key, (kernel.wrappersMade.get(key) ?? 0) + 1);
        let native = this.natives.get(offset);
        if (native === undefined) {
          native = {};
          this.natives.set(offset, native);
        }
        return new FakeLine(kernel, this.spec.name, offset, pin, native);
      }
    };
  }
}

class FakeLine implements LibgpiodLine {
  constructor(
    private readonly kernel: FakeGpioKernel,
    private readonly chip: string,
    private readonly offset: number,
    private readonly pin: FakePin,
    private readonly native: object,
  ) {}

  getValue(): number {
    const request = this.mine();
    if (request === undefined) throw errnoError('EPERM', '::getValue');
    if (this.pin.fault) throw errnoError(this.pin.fault, '::getValue');
    const level = this.kernel.level(this.chip, this.offset);
    return request.flags & FLAGS.ACTIVE_LOW ? flip(level) : level;
  }

  setValue(value: number): void {
    const request = this.mine();
    if (request === undefined || !request.output) throw errnoError('EPERM', '::setValue');
    request.value = value === 0 ? 0 : 1;
  }

  lineRequest(config: LibgpiodRequestConfig, defaultValue?: number): void {
    this.kernel.requests.push({ chip: this.chip, offset: this.offset, config: { ...config }, defaultValue });
    if (this.pin.request !== undefined) throw errnoError('EBUSY', '::lineRequest');
    if (config.requestType !== DIRECTION.INPUT && config.requestType !== DIRECTION.OUTPUT) {
      throw errnoError('EINVAL', '::lineRequest');
    }
    this.pin.request = {
      consumer: config.consumer,
      output: config.requestType === DIRECTION.OUTPUT,
      flags: config.flags,
      value: defaultValue === 1 ? 1 : 0,
      owner: this.native,
    };
  }

  release(): void {
    if (this.mine() !== undefined) this.pin.request = undefined;
  }

  private mine(): Request | undefined {
    return this.pin.request?.owner === this.native ? this.pin.request : undefined;
  }
}

function flip(level: Level): Level {
  return level === 1 ? 0 : 1;
}
