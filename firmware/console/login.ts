/**
 * The login policy, a pure core: (state, event, now) → (state, actions). Failed logins on the console
 * port are counted within a window; each one is answered after a delay that doubles with every failure,
 * and reaching the limit locks the port for the lockout time, during which attempts are refused without
 * checking a password. The count is per port, not per user name, so guessing names gains nothing.
 * `now` is the monotonic clock's (Clock.now()); the core never reads a clock.
 */

export interface LoginPolicy {
  /** Failures (within `windowMs`) that lock the port. */
  maxFailures: number;
  /** Delay after the first failure; it doubles with each further one, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  lockoutMs: number;
  /** Failures older than this (since the first of a run) are forgotten. */
  windowMs: number;
  /** A session without a keystroke for this long is logged out (within twice this); 0 never. */
  idleLogoutMs: number;
}

export const DEFAULT_LOGIN_POLICY: LoginPolicy = {
  idleLogoutMs: 15 * 60_000,
  maxFailures: 5,
  baseDelayMs: 1000,
  maxDelayMs: 16_000,
  lockoutMs: 300_000,
  windowMs: 900_000,
};

export interface LoginState {
  readonly failures: number;
  /** When the current run of failures began. */
  readonly since: number | undefined;
  readonly lockedUntil: number | undefined;
}

export const initialLoginState: LoginState = { failures: 0, since: undefined, lockedUntil: undefined };

export type LoginEvent =
  /** A user name was entered: may a password be checked? */
  { type: 'attempt'; user: string } | { type: 'failure'; user: string } | { type: 'success'; user: string };

export type LoginAction =
  /** Check the password. */
  | { type: 'verify' }
  /** The port is locked: refuse without checking. */
  | { type: 'refuse'; remainingMs: number }
  /** Let the user in. */
  | { type: 'grant' }
  /** Wait this long, discarding input, before the next prompt. */
  | { type: 'delay'; ms: number }
  /** The port is now locked for `ms`. */
  | { type: 'lock'; ms: number }
  | { type: 'audit'; message: string };

export interface LoginStep {
  state: LoginState;
  actions: LoginAction[];
}

/** The state with expired locks and failure runs cleared. */
function current(policy: LoginPolicy, state: LoginState, now: number): LoginState {
  if (state.lockedUntil !== undefined && now >= state.lockedUntil) return initialLoginState;
  if (state.lockedUntil === undefined && state.since !== undefined && now - state.since >= policy.windowMs) {
    return initialLoginState;
  }
  return state;
}

export function loginStep(policy: LoginPolicy, state: LoginState, event: LoginEvent, now: number): LoginStep {
  const s = current(policy, state, now);
  const name = JSON.stringify(event.user.slice(0, 64));
  switch (event.type) {
    case 'attempt':
      if (s.lockedUntil !== undefined) {
        return {
          state: s,
          actions: [
            { type: 'refuse', remainingMs: s.lockedUntil - now },
            { type: 'audit', message: `console login as ${name} refused: the port is locked` },
          ],
        };
      }
      return { state: s, actions: [{ type: 'verify' }] };
    case 'success':
      if (s.lockedUntil !== undefined) {
        return { state: s, actions: [{ type: 'refuse', remainingMs: s.lockedUntil - now }] };
      }
      return {
        state: initialLoginState,
        actions: [{ type: 'grant' }, { type: 'audit', message: `console login as ${name}` }],
      };
    case 'failure': {
      const failures = s.failures + 1;
      const since = s.since ?? now;
      const audit: LoginAction = {
        type: 'audit',
        message: `console login as ${name} failed (${failures} in a row)`,
      };
      if (failures >= policy.maxFailures) {
        return {
          state: { failures, since, lockedUntil: now + policy.lockoutMs },
          actions: [
            audit,
            { type: 'lock', ms: policy.lockoutMs },
            {
              type: 'audit',
              message: `console locked for ${Math.ceil(policy.lockoutMs / 1000)} s after ${failures} failed logins`,
            },
          ],
        };
      }
      const ms = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failures - 1));
      return { state: { failures, since, lockedUntil: undefined }, actions: [audit, { type: 'delay', ms }] };
    }
  }
}
