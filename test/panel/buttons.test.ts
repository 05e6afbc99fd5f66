import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FAILOVER_IDLE,
  FAILOVER_MAX_MS,
  failoverStep,
  RESET_CONFIRM_MS,
  RESET_HOLD_MS,
  RESET_IDLE,
  type ResetState,
  resetDeadline,
  resetStep,
} from '../../firmware/panel/buttons.ts';

const failover = suite('failoverStep');

failover('a short press asks for a switchover on release', () => {
  const pressed = failoverStep(FAILOVER_IDLE, { type: 'press', at: 1000 });
  assert.equal(pressed, { state: { pressedAt: 1000 }, actions: [] });
  const released = failoverStep(pressed.state, { type: 'release', at: 1200 });
  assert.equal(released, { state: FAILOVER_IDLE, actions: [{ type: 'failover', heldMs: 200 }] });
});

failover('held 2 s or more: ignored', () => {
  const s = failoverStep(FAILOVER_IDLE, { type: 'press', at: 0 }).state;
  assert.equal(failoverStep(s, { type: 'release', at: FAILOVER_MAX_MS }).actions, [
    { type: 'ignored', heldMs: FAILOVER_MAX_MS },
  ]);
  assert.equal(failoverStep(s, { type: 'release', at: FAILOVER_MAX_MS - 1 }).actions[0]?.type, 'failover');
});

failover('a release without a press, and ticks, do nothing', () => {
  assert.equal(failoverStep(FAILOVER_IDLE, { type: 'release', at: 5 }), {
    state: FAILOVER_IDLE,
    actions: [],
  });
  const s = failoverStep(FAILOVER_IDLE, { type: 'press', at: 0 }).state;
  assert.equal(failoverStep(s, { type: 'tick' }), { state: s, actions: [] });
});

failover.run();

// ---

const reset = suite('resetStep');

/** Runs the machine through events, ticking at every deadline up to `until`. */
function drive(events: { at: number; type: 'press' | 'release' }[], until: number) {
  let state: ResetState = RESET_IDLE;
  const log: { at: number; type: string }[] = [];
  const queue = [...events];
  let now = 0;
  while (now <= until) {
    const due = resetDeadline(state);
    const next = queue[0];
    if (next !== undefined && (due === undefined || next.at <= due)) {
      queue.shift();
      now = next.at;
      const r = resetStep(state, { type: next.type, at: next.at }, now);
      state = r.state;
      for (const a of r.actions) log.push({ at: now, type: a.type });
    } else if (due !== undefined && due <= until) {
      now = due;
      const r = resetStep(state, { type: 'tick' }, now);
      state = r.state;
      for (const a of r.actions) log.push({ at: now, type: a.type });
    } else break;
  }
  return { state, log };
}

reset('held 10 s: confirmation at 10 s, factory reset after the confirmation', () => {
  const { state, log } = drive([{ at: 100, type: 'press' }], 60_000);
  assert.equal(log, [
    { at: 100 + RESET_HOLD_MS, type: 'confirm' },
    { at: 100 + RESET_HOLD_MS + RESET_CONFIRM_MS, type: 'factory-reset' },
  ]);
  assert.equal(state, RESET_IDLE);
});

reset('released before 10 s: canceled, nothing else', () => {
  const { state, log } = drive(
    [
      { at: 0, type: 'press' },
      { at: RESET_HOLD_MS - 1, type: 'release' },
    ],
    60_000,
  );
  assert.equal(log, [{ at: RESET_HOLD_MS - 1, type: 'canceled' }]);
  assert.equal(state, RESET_IDLE);
});

reset('released during the confirmation: the reset still happens', () => {
  const { log } = drive(
    [
      { at: 0, type: 'press' },
      { at: RESET_HOLD_MS + 500, type: 'release' },
    ],
    60_000,
  );
  assert.equal(
    log.map((l) => l.type),
    ['confirm', 'factory-reset'],
  );
});

reset('an early tick does not confirm; deadlines follow the phase', () => {
  const holding = resetStep(RESET_IDLE, { type: 'press', at: 50 }, 50).state;
  assert.is(resetDeadline(holding), 50 + RESET_HOLD_MS);
  assert.equal(resetStep(holding, { type: 'tick' }, 5000), { state: holding, actions: [] });
  const confirming = resetStep(holding, { type: 'tick' }, 50 + RESET_HOLD_MS).state;
  assert.equal(confirming, { phase: 'confirming', until: 50 + RESET_HOLD_MS + RESET_CONFIRM_MS });
  assert.is(resetDeadline(confirming), 50 + RESET_HOLD_MS + RESET_CONFIRM_MS);
  assert.is(resetDeadline(RESET_IDLE), undefined);
});

reset('a second press while holding or confirming changes nothing', () => {
  const holding = resetStep(RESET_IDLE, { type: 'press', at: 0 }, 0).state;
  assert.equal(resetStep(holding, { type: 'press', at: 10 }, 10).state, holding);
});

reset.run();
