/**
 * The library boundary of the Linux GPIO driver: exactly the part of node-libgpiod (0.5.x, bindings to
 * libgpiod 1.x on the GPIO character device) that linux.ts uses, typed here because the package's own
 * .d.ts types flags as objects and returns `any`. Tests pass a fake of this interface.
 *
 * Library quirks the driver works around (see linux.ts): a Chip keeps one native line per offset, so two
 * Line wrappers of one offset share it and the first one garbage-collected releases it; and reading
 * `lineNames` releases every line requested through that Chip object.
 */
import { createRequire } from 'node:module';
import { HalError } from '../errors.ts';

export interface LibgpiodRequestConfig {
  consumer: string;
  /** One of `Line.RequestType.Direction`. */
  requestType: number;
  /** An OR of `Line.RequestFlags`. */
  flags: number;
}

export interface LibgpiodLine {
  /** The logical value (the kernel applies ACTIVE_LOW). Throws an errno Error. */
  getValue(): number;
  /** Sets the logical value of an output. Throws an errno Error (EPERM on an input). */
  setValue(value: number): void;
  /** gpiod_line_request(); `defaultValue` is the logical initial value of an output. Throws EBUSY when held. */
  lineRequest(config: LibgpiodRequestConfig, defaultValue?: number): void;
  release(): void;
}

export interface LibgpiodChip {
  /** The kernel name, e.g. 'gpiochip0'. */
  readonly name: string;
  readonly numberOfLines: number;
  /** Per offset; unnamed lines are holes. Reading it releases every line requested through this object. */
  readonly lineNames: readonly (string | undefined)[];
  /** Throws an errno Error (EINVAL for an offset past the end). */
  getLine(offset: number): LibgpiodLine;
}

export interface LibgpiodApi {
  /** gpiod_chip_open_lookup(): a name, path, number or label. Throws an errno Error (ENOENT when missing). */
  readonly Chip: new (
    identifier: string,
  ) => LibgpiodChip;
  readonly Line: {
    readonly RequestType: { readonly Direction: { readonly INPUT: number; readonly OUTPUT: number } };
    readonly RequestFlags: {
      readonly ACTIVE_LOW: number;
      readonly BIAS_DISABLE: number;
      readonly BIAS_PULL_DOWN: number;
      readonly BIAS_PULL_UP: number;
    };
  };
}

/** Loads node-libgpiod's native addon. HAL_UNSUPPORTED when it (or libgpiod itself) is missing. */
export function loadLibgpiod(): LibgpiodApi {
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)('node-libgpiod');
  } catch (err) {
    throw new HalError(
      'HAL_UNSUPPORTED',
      `cannot load node-libgpiod (libgpiod 1.x bindings): ${String(err)}`,
      {
        device: 'gpio',
        cause: err,
      },
    );
  }
  if (!isLibgpiodApi(mod)) {
    throw new HalError('HAL_UNSUPPORTED', 'node-libgpiod does not export the expected Chip and Line API', {
      device: 'gpio',
    });
  }
  return mod;
}

function isLibgpiodApi(mod: unknown): mod is LibgpiodApi {
  if (typeof mod !== 'object' || mod === null || !('Chip' in mod) || !('Line' in mod)) return false;
  const { Chip, Line } = mod;
  if (typeof Chip !== 'function' || typeof Line !== 'function') return false;
  if (!('RequestType' in Line) || !('RequestFlags' in Line)) return false;
  const { RequestType, RequestFlags } = Line;
  return (
    typeof RequestType === 'object' &&
    RequestType !== null &&
    'Direction' in RequestType &&
    typeof RequestFlags === 'object' &&
    RequestFlags !== null &&
    'ACTIVE_LOW' in RequestFlags
  );
}
