/** Errors of the forwarding core. Callers branch on `code`; a wrapped driver error is the `cause`. */
import { FirmwareError } from '../errors.ts';
export type ForwardErrorCode =
  | 'FORWARD_INVALID_CONFIG' // a desired-state definition is wrong; `field` names it
  | 'FORWARD_APPLY_FAILED' // the data plane refused or failed a change; it is left as it was
  | 'FORWARD_CLOSED' // the service or data plane was closed
  | 'FORWARD_IO' // reading kernel state (counters, conntrack) failed; see `cause`
  | 'FORWARD_UNSUPPORTED'; // this data plane cannot program what the definition asks for

export class ForwardError extends FirmwareError<ForwardErrorCode> {
  override readonly name = 'ForwardError';
  /** The dotted path of the offending field, for FORWARD_INVALID_CONFIG. */
  readonly field: string | undefined;

  constructor(code: ForwardErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(code, message, options);
    this.field = options.field;
  }

  static is(err: unknown, code?: ForwardErrorCode): err is ForwardError {
    return err instanceof ForwardError && (code === undefined || err.code === code);
  }
}
