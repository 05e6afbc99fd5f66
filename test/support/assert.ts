import * as assert from 'uvu/assert';

/**
 * uvu 0.5 has no assert.rejects: this is it. Fails when `promise` resolves, or when its rejection does
 * not satisfy `check` (a predicate, or an error class).
 */
export async function rejects(
  promise: Promise<unknown>,
  check: ((err: unknown) => boolean) | (abstract new (...args: never[]) => Error),
  message?: string,
): Promise<unknown> {
  let resolved = false;
  try {
    await promise;
    resolved = true;
  } catch (err) {
    const ok =
      check.prototype instanceof Error || check === Error
        ? err instanceof (check as abstract new (...args: never[]) => Error)
        : (check as (e: unknown) => boolean)(err);
    assert.ok(
      ok,
      message ??
        `rejected with an unexpected error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
    );
    return err;
  }
  if (resolved) assert.unreachable(message ?? 'expected the promise to reject, but it resolved');
  return undefined;
}

/** The predicate for a HalError (or any error with a `code`) carrying `code`. */
export const withCode =
  (code: string) =>
  (err: unknown): boolean =>
    typeof err === 'object' && err !== null && 'code' in err && err.code === code;
