import { MAX_ATTEMPTS } from '../../../hal/bootslots/scheme.ts';
import type { SlotEnv, SlotVars } from '../../../hal/bootslots/types.ts';

export const slotEnv = (order: 'A B' | 'B A', a: SlotVars, b: SlotVars): SlotEnv => ({
  order: order === 'A B' ? ['A', 'B'] : ['B', 'A'],
  slots: { A: a, B: b },
});

/** Every combination the bootloader can be given, with the counts that matter (0, 1, some, the most). */
export function allSlotEnvs(): SlotEnv[] {
  const vars: SlotVars[] = [];
  for (const ok of [false, true]) {
    for (const trying of [false, true])
      for (const left of [0, 1, 2, MAX_ATTEMPTS]) vars.push({ ok, trying, left });
  }
  const out: SlotEnv[] = [];
  for (const order of ['A B', 'B A'] as const) {
    for (const a of vars) for (const b of vars) out.push(slotEnv(order, a, b));
  }
  return out;
}
