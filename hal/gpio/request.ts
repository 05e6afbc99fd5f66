/**
 * Checking what callers pass, shared by both drivers so they refuse exactly the same things with the same
 * codes and words: chip names, line requests (defaults resolved once), and values.
 */
import { HalError } from '../errors.ts';
import type { Bias, EdgeDetect, Level, LineConfig, LineRequest } from './types.ts';

/** The kernel keeps 32 bytes for a consumer label, NUL included. */
export const CONSUMER_MAX_BYTES = 31;

const BIASES: readonly Bias[] = ['as-is', 'disabled', 'pull-up', 'pull-down'];
const EDGES: readonly EdgeDetect[] = ['none', 'rising', 'falling', 'both'];

export interface ChipInfo {
  readonly name: string;
  readonly lineCount: number;
  readonly lineNames: readonly (string | undefined)[];
}

export interface ResolvedRequest {
  readonly offset: number;
  readonly name: string | undefined;
  readonly config: LineConfig;
}

/** How errors name one line: `gpiochip0:4`. */
export function lineDevice(chip: string, offset: number): string {
  return `${chip}:${offset}`;
}

/** How messages name one line: `line 4 (peer-fence) of gpiochip0`. */
export function lineLabel(chip: string, offset: number, name: string | undefined): string {
  return `line ${offset}${name === undefined ? '' : ` (${name})`} of ${chip}`;
}

export function checkChipName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0')) {
    throw new HalError(
      'HAL_INVALID_ARGUMENT',
      `GPIO chip name must be a non-empty string, got ${show(name)}`,
      {
        device: 'gpio',
      },
    );
  }
  return name;
}

export function checkLevel(value: unknown, device: string, what: string): Level {
  if (value !== 0 && value !== 1) {
    throw new HalError('HAL_INVALID_ARGUMENT', `${what}: value must be 0 or 1, got ${show(value)}`, {
      device,
    });
  }
  return value;
}

/** Finds the line `id` names on `chip`: HAL_NOT_FOUND when it has no such offset or name. */
export function resolveLine(chip: ChipInfo, id: unknown): { offset: number; name: string | undefined } {
  if (typeof id === 'string' && id.length > 0) {
    const offset = chip.lineNames.indexOf(id);
    if (offset < 0) {
      throw new HalError('HAL_NOT_FOUND', `GPIO chip ${chip.name} has no line named ${show(id)}`, {
        device: chip.name,
      });
    }
    return { offset, name: id };
  }
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
    throw new HalError(
      'HAL_INVALID_ARGUMENT',
      `GPIO chip ${chip.name}: line must be an offset (an integer >= 0) or a name, got ${show(id)}`,
      { device: chip.name },
    );
  }
  if (id >= chip.lineCount) {
    throw new HalError(
      'HAL_NOT_FOUND',
      `GPIO chip ${chip.name} has no line ${id} (it has ${chip.lineCount}: 0 to ${chip.lineCount - 1})`,
      { device: chip.name },
    );
  }
  return { offset: id, name: chip.lineNames[id] };
}

/** Validates `request` against `chip` and resolves its defaults. */
export function resolveRequest(chip: ChipInfo, request: LineRequest): ResolvedRequest {
  if (typeof request !== 'object' || request === null) {
    throw new HalError('HAL_INVALID_ARGUMENT', `GPIO chip ${chip.name}: request must be an object`, {
      device: chip.name,
    });
  }
  const { offset, name } = resolveLine(chip, request.line);
  const device = lineDevice(chip.name, offset);
  const label = lineLabel(chip.name, offset, name);
  const bad = (field: string, expected: string, got: unknown): HalError =>
    new HalError(
      'HAL_INVALID_ARGUMENT',
      `request for ${label}: ${field} must be ${expected}, got ${show(got)}`,
      {
        device,
      },
    );

  const { consumer, direction } = request;
  if (
    typeof consumer !== 'string' ||
    consumer.length === 0 ||
    Buffer.byteLength(consumer) > CONSUMER_MAX_BYTES ||
    consumer.includes('\0')
  ) {
    throw bad('consumer', `a label of 1 to ${CONSUMER_MAX_BYTES} bytes`, consumer);
  }
  if (direction !== 'input' && direction !== 'output')
    throw bad('direction', "'input' or 'output'", direction);
  const activeLow = request.activeLow ?? false;
  if (typeof activeLow !== 'boolean') throw bad('activeLow', 'a boolean', activeLow);
  const bias = request.bias ?? 'as-is';
  if (!BIASES.includes(bias)) throw bad('bias', BIASES.map((b) => `'${b}'`).join(', '), bias);

  if (direction === 'output') {
    for (const field of ['edge', 'debounceMs'] as const) {
      if (request[field] !== undefined) throw bad(field, 'left out on an output', request[field]);
    }
    const initial = request.initial ?? 0;
    if (initial !== 0 && initial !== 1) throw bad('initial', '0 or 1', initial);
    return {
      offset,
      name,
      config: { consumer, direction, initial, activeLow, bias, edge: 'none', debounceMs: 0 },
    };
  }

  if (request.initial !== undefined) throw bad('initial', 'left out on an input', request.initial);
  const edge = request.edge ?? 'none';
  if (!EDGES.includes(edge)) throw bad('edge', EDGES.map((e) => `'${e}'`).join(', '), edge);
  const debounceMs = request.debounceMs ?? 0;
  if (typeof debounceMs !== 'number' || !Number.isFinite(debounceMs) || debounceMs < 0) {
    throw bad('debounceMs', 'a finite number of milliseconds >= 0', debounceMs);
  }
  return { offset, name, config: { consumer, direction, initial: 0, activeLow, bias, edge, debounceMs } };
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return typeof value;
}
