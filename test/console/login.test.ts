import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  initialLoginState,
  type LoginAction,
  type LoginPolicy,
  type LoginState,
  loginStep,
} from '../../firmware/console/login.ts';

const policy: LoginPolicy = {
  idleLogoutMs: 0,
  maxFailures: 4,
  baseDelayMs: 1000,
  maxDelayMs: 3000,
  lockoutMs: 60_000,
  windowMs: 600_000,
};

/** Runs events in order at the given times; returns the final state and each step's actions without audits. */
function run(
  events: [type: 'attempt' | 'failure' | 'success', now: number][],
  state: LoginState = initialLoginState,
) {
  const steps: LoginAction[][] = [];
  for (const [type, now] of events) {
    const r = loginStep(policy, state, { type, user: 'admin' }, now);
    state = r.state;
    steps.push(r.actions.filter((a) => a.type !== 'audit'));
  }
  return { state, steps };
}

const login = suite('loginStep: delays, lockout, expiry');

login('a good password is let in and clears the count', () => {
  const { state, steps } = run([
    ['attempt', 0],
    ['failure', 10],
    ['attempt', 2000],
    ['success', 2010],
  ]);
  assert.equal(steps, [
    [{ type: 'verify' }],
    [{ type: 'delay', ms: 1000 }],
    [{ type: 'verify' }],
    [{ type: 'grant' }],
  ]);
  assert.equal(state, initialLoginState);
});

login('each failure doubles the delay up to the maximum, then the port locks', () => {
  const { state, steps } = run([
    ['failure', 0],
    ['failure', 1],
    ['failure', 2],
    ['failure', 3],
  ]);
  assert.equal(steps, [
    [{ type: 'delay', ms: 1000 }],
    [{ type: 'delay', ms: 2000 }],
    [{ type: 'delay', ms: 3000 }],
    [{ type: 'lock', ms: 60_000 }],
  ]);
  assert.is(state.lockedUntil, 60_003);
});

login('while locked, attempts are refused without checking, even the right password', () => {
  const locked = run([
    ['failure', 0],
    ['failure', 0],
    ['failure', 0],
    ['failure', 0],
  ]).state;
  const { steps } = run(
    [
      ['attempt', 30_000],
      ['success', 30_000],
    ],
    locked,
  );
  assert.equal(steps, [[{ type: 'refuse', remainingMs: 30_000 }], [{ type: 'refuse', remainingMs: 30_000 }]]);
});

login('the lock expires, and with it the count', () => {
  const locked = run([
    ['failure', 0],
    ['failure', 0],
    ['failure', 0],
    ['failure', 0],
  ]).state;
  const { steps } = run(
    [
      ['attempt', 60_000],
      ['failure', 60_001],
    ],
    locked,
  );
  assert.equal(steps, [[{ type: 'verify' }], [{ type: 'delay', ms: 1000 }]]);
});

login('failures older than the window are forgotten', () => {
  const { steps } = run([
    ['failure', 0],
    ['failure', 1],
    ['failure', 2],
    ['failure', 600_000],
  ]);
  assert.equal(steps.at(-1), [{ type: 'delay', ms: 1000 }]);
});

login('every outcome is audited, naming the user as given', () => {
  const r = loginStep(policy, initialLoginState, { type: 'failure', user: 'x\ny' }, 0);
  assert.ok(
    r.actions.some((a) => a.type === 'audit' && a.message === 'console login as "x\\ny" failed (1 in a row)'),
  );
});

login.run();
