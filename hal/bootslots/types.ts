/**
 * The boot-slot contract: two root filesystem slots, A and B, and the bootloader environment that decides
 * which one starts (A/B updates with rollback, the way RAUC drives GRUB). `linux.ts` (a GRUB environment
 * block on disk plus the kernel command line) and `sim.ts` (the same block in memory, plus a simulated
 * reboot) both meet every guarantee written here; test/hal/bootslots/contract.ts checks them against both.
 *
 * The scheme (hal/bootslots/scheme.ts holds the variable names and rules, select.ts the bootloader's choice):
 * slots are tried in order, primary first; a slot marked bad is skipped; a slot confirmed good starts; a
 * slot made primary by `setPrimary` is on trial: it starts at most `attempts` times unless confirmed with
 * `markGood` meanwhile, and once they are spent the bootloader falls back to the other slot. When nothing
 * is bootable the primary starts anyway (the bootloader must start something). A confirmed slot is not
 * counted again: one that breaks later keeps being started, and the watchdog and the peer cover it.
 *
 * Every change is atomic and durable: when it resolves it is on disk, and a power cut at any moment leaves
 * either the old environment or the new one, never a torn one. Changes made through one instance are applied
 * in call order. Errors are HalErrors (hal/errors.ts): a slot name other than 'A' or 'B', or a bad attempt
 * count, is HAL_INVALID_ARGUMENT (nothing is written); a missing environment is HAL_NOT_FOUND naming it; an
 * environment that is not a well-formed block with valid slot variables is HAL_IO with a message saying what
 * is wrong, and is never rewritten or reset by this layer.
 */

export type Slot = 'A' | 'B';

export interface SlotState {
  /** The bootloader would start it: not marked bad, and either confirmed good or with trial boots left. */
  bootable: boolean;
  /** Trial boots left before the bootloader gives up on it; 0 once it is confirmed good or marked bad. */
  attemptsLeft: number;
  /** Confirmed with `markGood` (and not marked bad or made primary again since). */
  good: boolean;
}

export interface BootState {
  /** The slot running now, as the bootloader told the kernel. */
  booted: Slot;
  /** The slot the bootloader tries first. It is not necessarily `booted`: after a rollback it is not. */
  primary: Slot;
  slots: Readonly<Record<Slot, SlotState>>;
}

export interface SetPrimaryOptions {
  /** Trial boots allowed before a fallback: an integer from 1 to 9 (GRUB script has no arithmetic, and
   * counts down through a chain of comparisons). Default 3. */
  attempts?: number;
}

export interface BootSlots {
  /** Reads the environment and the booted slot. HAL_IO for a corrupt environment, HAL_NOT_FOUND when the
   * environment or the booted-slot record is missing. */
  state(): Promise<BootState>;
  /** Confirms `slot`: it starts whenever it is tried, without counting. */
  markGood(slot: Slot): Promise<void>;
  /** The bootloader will not start `slot` again until it is made primary or confirmed. */
  markBad(slot: Slot): Promise<void>;
  /** Puts `slot` first, on trial (not good) with `attempts` boots to prove itself. */
  setPrimary(slot: Slot, options?: SetPrimaryOptions): Promise<void>;
}

/** One slot's variables in the environment, typed. */
export interface SlotVars {
  /** May be started at all (RAUC's `<slot>_OK`); cleared by `markBad`. */
  ok: boolean;
  /** On trial, not yet confirmed (RAUC's `<slot>_TRY`). */
  trying: boolean;
  /** Trial boots left (`<slot>_LEFT`), counted down by the bootloader while `trying`. */
  left: number;
}

/** The slot part of a bootloader environment, typed: what select.ts decides on. */
export interface SlotEnv {
  /** Both slots, primary first (RAUC's `ORDER`). */
  order: readonly [Slot, Slot];
  slots: Readonly<Record<Slot, SlotVars>>;
}

export interface BootChoice {
  slot: Slot;
  /** 'good': a confirmed slot; 'trial': a slot on trial, one attempt used; 'last-resort': nothing was
   * bootable, so the primary starts anyway (the bootloader must start something). */
  kind: 'good' | 'trial' | 'last-resort';
  /** The slot started is not the primary. */
  fellBack: boolean;
}

/** The bootloader's decision and the environment it saves before starting the slot. */
export interface BootSelection extends BootChoice {
  env: SlotEnv;
}
