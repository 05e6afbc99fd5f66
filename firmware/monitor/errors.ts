/**
 * The monitor's error catalogue. Callers branch on `code`, never on the message. Probe failures are not
 * errors: a check that fails resolves with a failed ProbeResult. These are for bad configuration, a
 * malformed event fed to the core (a shell bug), and calls on a closed monitor.
 */
import { FirmwareError } from '../errors.ts';
export type MonitorErrorCode =
  | 'MONITOR_INVALID_CONFIG' // a config field (or a check spec) is missing, of the wrong type or out of range
  | 'MONITOR_INVALID_EVENT' // an event passed to the core is malformed
  | 'MONITOR_TIME_BACKWARDS' // `now` passed to step is earlier than the previous one
  | 'MONITOR_MISSING_DRIVER' // startMonitor was not handed a driver the configuration needs
  | 'MONITOR_CLOSED'; // the monitor was closed

const templates: { [C in MonitorErrorCode]: (detail: string) => string } = {
  MONITOR_INVALID_CONFIG: (d) => `invalid monitor configuration: ${d}`,
  MONITOR_INVALID_EVENT: (d) => `invalid monitor event: ${d}`,
  MONITOR_TIME_BACKWARDS: (d) => `time went backwards: ${d}`,
  MONITOR_MISSING_DRIVER: (d) => `missing driver: ${d}`,
  MONITOR_CLOSED: (d) => `monitor closed: ${d}`,
};

export class MonitorError extends FirmwareError<MonitorErrorCode> {
  override readonly name: string = 'MonitorError';

  constructor(code: MonitorErrorCode, detail: string, options: { cause?: unknown } = {}) {
    super(code, templates[code](detail), options);
  }

  static is(err: unknown, code?: MonitorErrorCode): err is MonitorError {
    return err instanceof MonitorError && (code === undefined || err.code === code);
  }
}

/** A config field with a bad value: names the field (a path like `services[0].checks[1].port`) and the value. */
export class ConfigFieldError extends MonitorError {
  override readonly name = 'ConfigFieldError';
  readonly field: string;
  readonly problem: string;
  readonly value: unknown;

  constructor(field: string, problem: string, value: unknown) {
    super('MONITOR_INVALID_CONFIG', `${field || '(top level)'}: ${problem}, got ${show(value)}`);
    this.field = field;
    this.problem = problem;
    this.value = value;
  }

  /** The same error with `prefix` put in front of the field path. */
  within(prefix: string): ConfigFieldError {
    return new ConfigFieldError(joinPath(prefix, this.field), this.problem, this.value);
  }
}

/** `a` + `b` as a field path: `services[0]` + `port` → `services[0].port`; `x` + `[2]` → `x[2]`. */
export function joinPath(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  return b.startsWith('[') ? `${a}${b}` : `${a}.${b}`;
}

/** A short, bounded rendering of a value for error messages. */
export function show(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = `'${value}'`;
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (value === undefined || typeof value === 'number' || typeof value === 'boolean')
    text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
