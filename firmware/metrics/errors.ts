import { FirmwareError } from '../errors.ts';

export type MetricsErrorCode =
  /** A metric or label name the exposition format does not allow, or a sample that contradicts its family. */
  | 'METRICS_INVALID_NAME'
  /** A source did not answer within its time limit. */
  | 'METRICS_SOURCE_TIMEOUT'
  /** A source answered with an error, or could not be reached. */
  | 'METRICS_SOURCE_FAILED'
  /** A source answered something that is not the shape it promises. */
  | 'METRICS_BAD_ANSWER';

export class MetricsError extends FirmwareError<MetricsErrorCode> {
  override readonly name = 'MetricsError';

  static is(err: unknown, code?: MetricsErrorCode): err is MetricsError {
    return err instanceof MetricsError && (code === undefined || err.code === code);
  }
}
