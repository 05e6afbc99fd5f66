/** A testbed request that cannot be carried out. Callers branch on `code`, never on the message. */
export type TestbedErrorCode =
  | 'TESTBED_INVALID_ARGUMENT' // a prefix, node name or count the testbed cannot use
  | 'TESTBED_NOT_FOUND' // the namespace or node asked for does not exist (the testbed is not up)
  | 'TESTBED_PERMISSION' // not root
  | 'TESTBED_START_FAILED' // a piece (link, socat, real server) did not come up
  | 'TESTBED_UNREACHABLE'; // a probe got no answer

export class TestbedError extends Error {
  override readonly name = 'TestbedError';
  readonly code: TestbedErrorCode;

  constructor(code: TestbedErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
