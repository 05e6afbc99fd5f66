/**
 * The takeover catalogue: one code per fault. Driver failures are wrapped in `cause`.
 */
export type TakeoverErrorCode =
  | 'TAKEOVER_INVALID_CONFIG' // a configuration field is missing, malformed or out of range
  | 'TAKEOVER_CLOSED' // the service was closed
  | 'TAKEOVER_RECONCILE_FAILED'; // an address could not be added or removed (see cause)

export class TakeoverError extends Error {
  override readonly name = 'TakeoverError';
  readonly code: TakeoverErrorCode;

  constructor(code: TakeoverErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  static is(err: unknown, code?: TakeoverErrorCode): err is TakeoverError {
    return err instanceof TakeoverError && (code === undefined || err.code === code);
  }
}
