/**
 * The console's error catalogue. Handlers throw these (or pass on a JournalError, ConfigError or
 * HalError); the session prints the message after `% ` and carries on. Callers branch on `code`.
 */
export type ConsoleErrorCode =
  | 'CONSOLE_UNAVAILABLE' // the service behind the command is not wired on this appliance yet
  | 'CONSOLE_DENIED' // the logged-in user's role may not run the command
  | 'CONSOLE_REFUSED' // the command is well formed but cannot be carried out (no candidate, passwords differ…)
  | 'CONSOLE_INVALID_ARGUMENT' // startConsole was given a bad option
  | 'CONSOLE_CLOSED'; // the console was closed

const templates: { [C in ConsoleErrorCode]: (detail: string) => string } = {
  CONSOLE_UNAVAILABLE: (d) => `not available on this appliance yet: ${d}`,
  CONSOLE_DENIED: (d) => `permission denied: ${d}`,
  CONSOLE_REFUSED: (d) => d,
  CONSOLE_INVALID_ARGUMENT: (d) => `invalid console option: ${d}`,
  CONSOLE_CLOSED: (d) => `the console is closed: ${d}`,
};

export class ConsoleError extends Error {
  override readonly name = 'ConsoleError';
  readonly code: ConsoleErrorCode;

  constructor(code: ConsoleErrorCode, detail: string, options: { cause?: unknown } = {}) {
    super(templates[code](detail), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  static is(err: unknown, code?: ConsoleErrorCode): err is ConsoleError {
    return err instanceof ConsoleError && (code === undefined || err.code === code);
  }
}

export const unavailable = (what: string): ConsoleError => new ConsoleError('CONSOLE_UNAVAILABLE', what);
