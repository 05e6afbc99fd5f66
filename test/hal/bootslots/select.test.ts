import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initialSlotEnv, SLOTS } from '../../../hal/bootslots/scheme.ts';
import { selectBoot } from '../../../hal/bootslots/select.ts';
import type { Slot, SlotVars } from '../../../hal/bootslots/types.ts';
import { allSlotEnvs, slotEnv } from './envs.ts';

const env = slotEnv;
const good: SlotVars = { ok: true, trying: false, left: 0 };
const bad: SlotVars = { ok: false, trying: false, left: 0 };
const trial = (left: number): SlotVars => ({ ok: true, trying: true, left });

const cases = suite('selectBoot cases');

cases('a fresh appliance starts A as it is', () => {
  const e = initialSlotEnv();
  assert.equal(selectBoot(e), { slot: 'A', kind: 'good', fellBack: false, env: e });
});

cases('a primary on trial starts and loses one attempt', () => {
  const r = selectBoot(env('B A', good, trial(2)));
  assert.equal(r, { slot: 'B', kind: 'trial', fellBack: false, env: env('B A', good, trial(1)) });
});

cases('a trial with no attempts left, or a bad primary, falls back', () => {
  assert.equal(selectBoot(env('B A', good, trial(0))).slot, 'A');
  assert.ok(selectBoot(env('B A', good, trial(0))).fellBack);
  assert.equal(selectBoot(env('B A', good, bad)), {
    slot: 'A',
    kind: 'good',
    fellBack: true,
    env: env('B A', good, bad),
  });
  assert.equal(selectBoot(env('A B', trial(0), trial(1))).kind, 'trial');
});

cases('nothing bootable: the primary starts as the last resort, environment untouched', () => {
  for (const e of [env('B A', bad, bad), env('A B', trial(0), bad), env('B A', trial(0), trial(0))]) {
    assert.equal(selectBoot(e), { slot: e.order[0], kind: 'last-resort', fellBack: false, env: e });
  }
});

cases.run();

// ---

const rules = suite('selectBoot rules over every combination');

rules('it never changes its input and changes at most one count, by one', () => {
  for (const e of allSlotEnvs()) {
    const frozen = JSON.stringify(e);
    const r = selectBoot(e);
    assert.is(JSON.stringify(e), frozen);
    assert.equal(r.env.order, e.order);
    for (const s of SLOTS) {
      const drop = r.kind === 'trial' && s === r.slot ? 1 : 0;
      assert.equal(r.env.slots[s], { ...e.slots[s], left: e.slots[s].left - drop }, frozen);
    }
  }
});

rules('it starts a slot marked bad, or a spent trial, only as the last resort', () => {
  for (const e of allSlotEnvs()) {
    const r = selectBoot(e);
    const v = e.slots[r.slot];
    const startable = v.ok && (!v.trying || v.left > 0);
    assert.is(startable, r.kind !== 'last-resort', JSON.stringify(e));
    const firstStartable = e.order.find((s: Slot) => {
      const w = e.slots[s];
      return w.ok && (!w.trying || w.left > 0);
    });
    assert.is(r.slot, firstStartable ?? e.order[0], JSON.stringify(e));
    assert.is(r.fellBack, r.slot !== e.order[0]);
  }
});

rules.run();
