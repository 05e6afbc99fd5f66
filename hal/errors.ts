/**
 * The one catalogue of hardware-layer errors. Both faces of every driver (linux and sim) throw these
 * with the same code for the same fault, so callers branch on `code`, never on message text.
 */
export type HalErrorCode =
  | 'HAL_NOT_FOUND' // the device, interface, namespace or file does not exist
  | 'HAL_INVALID_ARGUMENT' // the caller passed a value the contract forbids
  | 'HAL_CANCELED' // an operation in flight was ended by close() or an AbortSignal
  | 'HAL_CLOSED' // the handle was already closed
  | 'HAL_BUSY' // the device is held by someone else, or an operation is already in flight
  | 'HAL_PERMISSION' // the OS refused (not root, capability missing)
  | 'HAL_TIMEOUT' // the device did not answer in time
  | 'HAL_UNSUPPORTED' // this kernel or board lacks the feature
  | 'HAL_IO'; // the device failed; see `cause`

export class HalError extends Error {
  override readonly name = 'HalError';
  readonly code: HalErrorCode;
  /** The device, interface, path or object the error is about. */
  readonly device: string | undefined;

  constructor(code: HalErrorCode, message: string, options: { device?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.device = options.device;
  }

  /** True when `err` is a HalError with `code`. */
  static is(err: unknown, code?: HalErrorCode): err is HalError {
    return err instanceof HalError && (code === undefined || err.code === code);
  }
}

/** The error to reject with when `signal` aborted: its reason if that is an Error, else HAL_CANCELED. */
export function abortError(signal: AbortSignal, device?: string): Error {
  const reason: unknown = signal.reason;
  // abort() without a reason gives a generic DOMException AbortError: report that as HAL_CANCELED.
  if (reason instanceof Error && reason.name !== 'AbortError') return reason;
  return new HalError('HAL_CANCELED', `operation on ${device ?? 'device'} was aborted`, {
    ...(device === undefined ? {} : { device }),
    cause: reason,
  });
}

/** Maps a Node system error (errno code) to a HalError naming the device. */
export function fromSystemError(err: unknown, device: string, action: string): HalError {
  if (err instanceof HalError) return err;
  const errno = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  const code: HalErrorCode =
    errno === 'ENOENT' || errno === 'ENODEV' || errno === 'ENXIO'
      ? 'HAL_NOT_FOUND'
      : errno === 'EACCES' || errno === 'EPERM'
        ? 'HAL_PERMISSION'
        : errno === 'EBUSY' || errno === 'EAGAIN'
          ? 'HAL_BUSY'
          : errno === 'ETIMEDOUT'
            ? 'HAL_TIMEOUT'
            : errno === 'EINVAL'
              ? 'HAL_INVALID_ARGUMENT'
              : 'HAL_IO';
  const detail = err instanceof Error ? err.message : String(err);
  return new HalError(code, `${action} ${device}: ${detail}`, { device, cause: err });
}
