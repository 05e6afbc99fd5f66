import type { BootSelection, SlotEnv } from './types.ts';

/**
 * The bootloader's choice, as a pure function: what grub-select.cfg does at every boot, written once here
 * so the sim's reboot and the update service's rollback tests use the same rules.
 *
 * Slots are tried in ORDER. A slot marked bad is skipped. A confirmed slot starts as it is. A slot on trial
 * with boots left starts and loses one; one with none left is skipped, and the next slot in ORDER starts
 * (the rollback). When nothing is bootable the primary starts anyway, environment untouched.
 */
export function selectBoot(env: SlotEnv): BootSelection {
  const primary = env.order[0];
  for (const slot of env.order) {
    const v = env.slots[slot];
    if (!v.ok) continue;
    const fellBack = slot !== primary;
    if (!v.trying) return { slot, kind: 'good', fellBack, env };
    if (v.left > 0) {
      const next: SlotEnv = { order: env.order, slots: { ...env.slots, [slot]: { ...v, left: v.left - 1 } } };
      return { slot, kind: 'trial', fellBack, env: next };
    }
  }
  return { slot: primary, kind: 'last-resort', fellBack: false, env };
}
