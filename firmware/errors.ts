/**
 * The base of every service's error class (undici style): a stable `name`, a machine-readable `code` from
 * the service's own string-literal union, so `switch (err.code)` is exhaustive, and a wrapped driver or
 * library error in `cause`. Callers branch on `code` or `instanceof`, never on the message.
 */
export abstract class FirmwareError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** True for an error of any Tandem service. */
export function isFirmwareError(err: unknown): err is FirmwareError {
  return err instanceof FirmwareError;
}
