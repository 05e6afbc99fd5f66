/** ProbeContext: the run context the monitor hands each probe (abort callback slot, signal made on demand). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProbeContext } from '../../firmware/monitor/checks/context.ts';
import type { CheckDrivers } from '../../firmware/monitor/checks/types.ts';
import { SimClock } from '../../hal/clock/sim.ts';

const drivers = { clock: new SimClock() } as unknown as CheckDrivers;

const context = suite('probe context');

context('abort runs the onAbort callback once and clears it', () => {
  const c = new ProbeContext(100, drivers);
  let calls = 0;
  c.onAbort(() => calls++);
  assert.is(c.aborted, false);
  c.abort();
  c.abort();
  assert.is(calls, 1);
  assert.ok(c.aborted);
});

context('a callback set after the abort runs at once; a cleared one never runs', () => {
  const c = new ProbeContext(100, drivers);
  let cleared = 0;
  c.onAbort(() => cleared++);
  c.onAbort(undefined);
  c.abort();
  assert.is(cleared, 0);
  let late = 0;
  c.onAbort(() => late++);
  assert.is(late, 1);
});

context('the signal is made on demand and follows the abort either way round', () => {
  const before = new ProbeContext(100, drivers);
  const signal = before.signal;
  assert.is(signal.aborted, false);
  let heard = 0;
  signal.addEventListener('abort', () => heard++);
  before.abort();
  assert.ok(signal.aborted);
  assert.is(heard, 1);
  const after = new ProbeContext(100, drivers);
  after.abort();
  assert.ok(after.signal.aborted, 'a signal asked for after the abort is aborted already');
  assert.is(after.timeoutMs, 100);
});

context.run();
