import { HalError } from '../errors.ts';
import type { BootState, Slot, SlotEnv, SlotState, SlotVars } from './types.ts';

/**
 * The slot variables in the bootloader environment, named after RAUC's GRUB integration (ORDER, <slot>_OK,
 * <slot>_TRY) plus a trial counter like RAUC's U-Boot one (BOOT_<slot>_LEFT):
 *
 *   ORDER="A B"   slots in the order the bootloader tries them, primary first
 *   A_OK=1        A may be started at all (0: marked bad)
 *   A_TRY=0       1: A is on trial, not yet confirmed good
 *   A_LEFT=0      trial boots left; the bootloader counts it down each time it starts A while A_TRY=1
 *
 * A slot is good when OK=1 and TRY=0, which is also what RAUC's grub backend calls good; RAUC's stock GRUB
 * script reading this environment would start only confirmed slots. Every function here is pure.
 */
export const SLOTS: readonly Slot[] = ['A', 'B'];
export const DEFAULT_ATTEMPTS = 3;
export const MAX_ATTEMPTS = 9;

export function checkSlot(value: unknown, where: string): Slot {
  if (value === 'A' || value === 'B') return value;
  throw new HalError(
    'HAL_INVALID_ARGUMENT',
    `boot slots ${where}: slot must be 'A' or 'B', got ${show(value)}`,
    {
      device: where,
    },
  );
}

export function checkAttempts(value: unknown, where: string): number {
  if (value === undefined) return DEFAULT_ATTEMPTS;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ATTEMPTS)
    return value;
  throw new HalError(
    'HAL_INVALID_ARGUMENT',
    `boot slots ${where}: attempts must be an integer from 1 to ${MAX_ATTEMPTS}, got ${show(value)}`,
    { device: where },
  );
}

/** A fresh appliance: A installed, primary and good; B empty (marked bad). */
export function initialSlotEnv(): SlotEnv {
  return {
    order: ['A', 'B'],
    slots: { A: { ok: true, trying: false, left: 0 }, B: { ok: false, trying: false, left: 0 } },
  };
}

/** The typed slot variables of `vars`; HAL_IO naming the variable when one is missing or invalid. */
export function readSlotEnv(vars: ReadonlyMap<string, string>, where: string): SlotEnv {
  const get = (name: string, allowed: RegExp, meaning: string): string => {
    const value = vars.get(name);
    if (value === undefined) {
      throw new HalError(
        'HAL_IO',
        `GRUB environment ${where} has no ${name}: the boot slots were never set up`,
        {
          device: where,
        },
      );
    }
    if (!allowed.test(value)) {
      throw new HalError(
        'HAL_IO',
        `GRUB environment ${where} is corrupt: ${name}=${show(value)} is not ${meaning}`,
        {
          device: where,
        },
      );
    }
    return value;
  };
  const order =
    get('ORDER', /^(A B|B A)$/, '"A B" or "B A"') === 'A B' ? (['A', 'B'] as const) : (['B', 'A'] as const);
  const slot = (s: Slot): SlotVars => ({
    ok: get(`${s}_OK`, /^[01]$/, '0 or 1') === '1',
    trying: get(`${s}_TRY`, /^[01]$/, '0 or 1') === '1',
    left: Number(get(`${s}_LEFT`, new RegExp(`^[0-${MAX_ATTEMPTS}]$`), `a count from 0 to ${MAX_ATTEMPTS}`)),
  });
  return { order, slots: { A: slot('A'), B: slot('B') } };
}

/** `vars` with the slot variables set from `env`; other variables keep their values and order. */
export function writeSlotEnv(vars: ReadonlyMap<string, string>, env: SlotEnv): Map<string, string> {
  const out = new Map(vars);
  out.set('ORDER', env.order.join(' '));
  for (const s of SLOTS) {
    const v = env.slots[s];
    out.set(`${s}_OK`, v.ok ? '1' : '0');
    out.set(`${s}_TRY`, v.trying ? '1' : '0');
    out.set(`${s}_LEFT`, String(v.left));
  }
  return out;
}

export function slotState(v: SlotVars): SlotState {
  const good = v.ok && !v.trying;
  return { bootable: v.ok && (!v.trying || v.left > 0), attemptsLeft: good || !v.ok ? 0 : v.left, good };
}

export function bootState(env: SlotEnv, booted: Slot): BootState {
  return { booted, primary: env.order[0], slots: { A: slotState(env.slots.A), B: slotState(env.slots.B) } };
}

const withSlot = (env: SlotEnv, slot: Slot, vars: SlotVars): SlotEnv => ({
  order: env.order,
  slots: { ...env.slots, [slot]: vars },
});

export function markGoodEnv(env: SlotEnv, slot: Slot): SlotEnv {
  return withSlot(env, slot, { ok: true, trying: false, left: 0 });
}

export function markBadEnv(env: SlotEnv, slot: Slot): SlotEnv {
  return withSlot(env, slot, { ok: false, trying: false, left: 0 });
}

export function setPrimaryEnv(env: SlotEnv, slot: Slot, attempts: number): SlotEnv {
  const order: readonly [Slot, Slot] = slot === 'A' ? ['A', 'B'] : ['B', 'A'];
  return { order, slots: { ...env.slots, [slot]: { ok: true, trying: true, left: attempts } } };
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
