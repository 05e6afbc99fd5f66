import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type DebounceState,
  debounceDeadline,
  debounceStart,
  debounceStep,
} from '../../../hal/gpio/debounce.ts';
import type { Level } from '../../../hal/gpio/types.ts';

/** Feeds (time, sample) pairs and ticks at each deadline; returns the changes. */
function run(samples: readonly [number, Level][], periodMs: number, until: number): [number, Level][] {
  let state: DebounceState = debounceStart(0, 0);
  const changes: [number, Level][] = [];
  const settleUpTo = (t: number): void => {
    const due = debounceDeadline(state, periodMs);
    if (due === undefined || due > t) return;
    const r = debounceStep(state, undefined, due, periodMs);
    state = r.state;
    if (r.change) changes.push([r.change.at, r.change.value]);
  };
  for (const [t, value] of samples) {
    settleUpTo(t);
    const r = debounceStep(state, value, t, periodMs);
    state = r.state;
    if (r.change) changes.push([r.change.at, r.change.value]);
  }
  settleUpTo(until);
  return changes;
}

const step = suite('debounceStep');

step('period 0 passes every change at once', () => {
  assert.equal(
    run(
      [
        [1, 1],
        [2, 0],
        [3, 1],
      ],
      0,
      10,
    ),
    [
      [1, 1],
      [2, 0],
      [3, 1],
    ],
  );
});

step('bounces within the period are forgotten; the change is dated at the last bounce', () => {
  const bouncy: [number, Level][] = [
    [10, 1],
    [11, 0],
    [12, 1],
    [13, 0],
    [14, 1],
  ];
  assert.equal(run(bouncy, 5, 18), []);
  assert.equal(run(bouncy, 5, 19), [[14, 1]]);
});

step('a glitch that returns to the stable value leaves nothing pending', () => {
  let state = debounceStart(0, 0);
  state = debounceStep(state, 1, 5, 10).state;
  assert.is(debounceDeadline(state, 10), 15);
  state = debounceStep(state, 0, 7, 10).state;
  assert.is(debounceDeadline(state, 10), undefined);
  assert.is(debounceStep(state, undefined, 100, 10).change, undefined);
});

step('repeating the raw value does not restart the period', () => {
  let state = debounceStart(0, 0);
  state = debounceStep(state, 1, 5, 10).state;
  state = debounceStep(state, 1, 9, 10).state;
  const r = debounceStep(state, 1, 15, 10);
  assert.equal(r.change, { value: 1, at: 5 });
  assert.is(r.state.stable, 1);
});

step('the input state is never modified', () => {
  const start = debounceStart(0, 0);
  const frozen = Object.freeze({ ...start });
  debounceStep(frozen, 1, 5, 0);
  assert.equal(frozen, start);
});

step.run();
