import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Blinker, levelAt, nextToggle } from '../../firmware/panel/blink.ts';
import { ALL_OFF } from '../../firmware/panel/leds.ts';
import { observedPattern } from '../../firmware/panel/observe.ts';
import { LED_NAMES, type LedName, type LedPatterns } from '../../firmware/panel/types.ts';
import { SimClock } from '../../hal/clock/sim.ts';
import type { Level } from '../../hal/gpio/types.ts';

const pure = suite('levelAt and nextToggle');

pure('off and solid are constant; blink is 500 ms on, 500 off; fast-blink 125/125', () => {
  for (const t of [0, 499, 500, 12_345]) {
    assert.is(levelAt('off', t), 0);
    assert.is(levelAt('solid', t), 1);
  }
  assert.equal(
    [0, 499, 500, 999, 1000].map((t) => levelAt('blink', t)),
    [1, 1, 0, 0, 1],
  );
  assert.equal(
    [0, 124, 125, 250, 375, 500].map((t) => levelAt('fast-blink', t)),
    [1, 1, 0, 1, 0, 1],
  );
});

pure('blinks are in phase: a fast-blink is on whenever a blink turns on', () => {
  for (let t = 0; t < 5000; t += 1000) assert.is(levelAt('fast-blink', t), levelAt('blink', t));
});

pure('nextToggle is the nearest boundary of the blinking patterns', () => {
  assert.is(nextToggle(['off', 'solid'], 10), undefined);
  assert.is(nextToggle(['blink', 'solid'], 10), 500);
  assert.is(nextToggle(['blink', 'fast-blink'], 10), 125);
  assert.is(nextToggle(['blink'], 500), 1000, 'strictly after now');
});

pure.run();

// ---

interface Rig {
  clock: SimClock;
  blinker: Blinker;
  levels: Record<LedName, Level>;
  changes: { led: LedName; level: Level; at: number }[];
}

function rig(initial: LedPatterns = ALL_OFF, startMs = 0): Rig {
  const clock = new SimClock({ startMs });
  const levels = Object.fromEntries(LED_NAMES.map((n) => [n, 0])) as Record<LedName, Level>;
  const changes: Rig['changes'] = [];
  const outputs = Object.fromEntries(
    LED_NAMES.map((n) => [
      n,
      (level: Level) => {
        if (levels[n] !== level) changes.push({ led: n, level, at: clock.now() });
        levels[n] = level;
      },
    ]),
  ) as Record<LedName, (l: Level) => void>;
  return { clock, blinker: new Blinker(clock, outputs, initial), levels, changes };
}

const blinker = suite('Blinker on a SimClock');

blinker('solid and off set the lines once and arm no timer', () => {
  const r = rig({ ...ALL_OFF, power: 'solid' });
  assert.is(r.levels.power, 1);
  assert.is(r.clock.pendingTimers(), 0);
  r.clock.advance(10_000);
  assert.equal(r.changes, [{ led: 'power', level: 1, at: 0 }]);
});

blinker('blink toggles every 500 ms, fast-blink every 125 ms, on one timer', () => {
  const r = rig({ ...ALL_OFF, active: 'blink', fault: 'fast-blink' });
  assert.is(r.clock.pendingTimers(), 1);
  r.clock.advance(1000);
  const at = (led: LedName) => r.changes.filter((c) => c.led === led).map((c) => [c.at, c.level]);
  assert.equal(at('active'), [
    [0, 1],
    [500, 0],
    [1000, 1],
  ]);
  assert.equal(
    at('fault').map(([t]) => t),
    [0, 125, 250, 375, 500, 625, 750, 875, 1000],
  );
  assert.is(r.clock.pendingTimers(), 1);
});

blinker('set() changes levels at once and keeps the phase; same patterns change nothing', () => {
  const r = rig({ ...ALL_OFF, standby: 'blink' }, 0);
  r.clock.advance(700);
  assert.is(r.levels.standby, 0);
  r.blinker.set({ ...ALL_OFF, standby: 'blink', active: 'blink' });
  assert.is(r.levels.active, 0, 'joins the blink in phase (off half)');
  const before = r.changes.length;
  r.blinker.set({ ...ALL_OFF, standby: 'blink', active: 'blink' });
  assert.is(r.changes.length, before);
  r.blinker.set({ ...ALL_OFF, standby: 'solid' });
  assert.equal([r.levels.standby, r.levels.active], [1, 0]);
  assert.is(r.clock.pendingTimers(), 0);
});

blinker('close() stops the timer and later set() calls', () => {
  const r = rig({ ...ALL_OFF, power: 'blink' });
  r.blinker.close();
  assert.is(r.clock.pendingTimers(), 0);
  r.blinker.set({ ...ALL_OFF, power: 'solid' });
  r.clock.advance(2000);
  assert.is(r.levels.power, 1, 'kept its last level');
  assert.equal(r.changes.length, 1);
});

blinker('no drift over a long run: still on the 500 ms grid after an hour', () => {
  const r = rig({ ...ALL_OFF, power: 'blink' }, 3);
  r.clock.advance(3_600_000);
  const last = r.changes.at(-1);
  assert.ok(last !== undefined && last.at % 500 === 0, `last toggle at ${last?.at}`);
  assert.is(r.changes.length, 7201);
});

blinker.run();

// ---

const observe = suite('observedPattern: patterns read back from line changes');

const series = (from: number, to: number, half: number) => {
  const out: { atMs: number; level: Level }[] = [];
  for (let t = from, i = 0; t <= to; t += half, i++) out.push({ atMs: t, level: i % 2 === 0 ? 1 : 0 });
  return out;
};

observe('steady levels: solid or off', () => {
  assert.is(observedPattern([], 1, 5000), 'solid');
  assert.is(observedPattern([], 0, 5000), 'off');
  assert.is(observedPattern([{ atMs: 100, level: 1 }], 1, 5000), 'solid');
  assert.is(observedPattern(series(0, 1000, 500), 1, 2500), 'solid', 'stopped blinking long ago');
});

observe('a 1 Hz series is blink, a 4 Hz series fast-blink, at any point of the cycle', () => {
  const slow = series(0, 10_000, 500);
  const fast = series(0, 10_000, 125);
  for (const now of [10_001, 10_250, 10_499]) {
    assert.is(observedPattern(slow, 1, now), 'blink');
  }
  for (const now of [10_001, 10_100]) assert.is(observedPattern(fast, 1, now), 'fast-blink');
});

observe('a single recent change reads as the level it left', () => {
  assert.is(observedPattern([{ atMs: 900, level: 1 }], 1, 1000), 'solid');
});

observe.run();
