/**
 * The takeover catalogue: one code per fault. Driver failures are wrapped in `cause`.
 */
import { FirmwareError } from '../errors.ts';

export type TakeoverErrorCode =
  | 'TAKEOVER_INVALID_CONFIG' // a configuration field is missing, malformed or out of range
  | 'TAKEOVER_CLOSED' // the service was closed
  | 'TAKEOVER_RECONCILE_FAILED'; // an address could not be added or removed (see cause)

export class TakeoverError extends FirmwareError<TakeoverErrorCode> {
  override readonly name = 'TakeoverError';

  static is(err: unknown, code?: TakeoverErrorCode): err is TakeoverError {
    return err instanceof TakeoverError && (code === undefined || err.code === code);
  }
}
