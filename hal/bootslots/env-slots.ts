import { formatGrubenv, parseGrubenv } from './grubenv.ts';
import {
  bootState,
  checkAttempts,
  checkSlot,
  markBadEnv,
  markGoodEnv,
  readSlotEnv,
  setPrimaryEnv,
  writeSlotEnv,
} from './scheme.ts';
import type { BootSlots, BootState, SetPrimaryOptions, Slot, SlotEnv } from './types.ts';

/** Where a BootSlots keeps its environment block and learns the booted slot. */
export interface EnvStore {
  /** Names the environment in messages (its path). */
  readonly where: string;
  /** The whole block; HAL_NOT_FOUND when there is none. */
  read(): Promise<Buffer>;
  /** Replaces the block atomically and durably. */
  write(block: Buffer): Promise<void>;
  booted(): Promise<Slot>;
}

/**
 * The BootSlots contract over an EnvStore, shared by both drivers so they check and refuse alike: arguments
 * first (nothing is read or written for a bad one), then read-modify-write of the whole block, one change at
 * a time in call order. A block that does not parse is refused before anything is written.
 */
export class EnvBootSlots implements BootSlots {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: EnvStore) {}

  async state(): Promise<BootState> {
    await this.tail;
    const env = readSlotEnv(parseGrubenv(await this.store.read(), this.store.where), this.store.where);
    return bootState(env, await this.store.booted());
  }

  markGood(slot: Slot): Promise<void> {
    return this.change(() => {
      const s = checkSlot(slot, this.store.where);
      return (env) => markGoodEnv(env, s);
    });
  }

  markBad(slot: Slot): Promise<void> {
    return this.change(() => {
      const s = checkSlot(slot, this.store.where);
      return (env) => markBadEnv(env, s);
    });
  }

  setPrimary(slot: Slot, options: SetPrimaryOptions = {}): Promise<void> {
    return this.change(() => {
      const s = checkSlot(slot, this.store.where);
      const attempts = checkAttempts(options.attempts, this.store.where);
      return (env) => setPrimaryEnv(env, s, attempts);
    });
  }

  /** Checks the arguments now (prepare throws), applies the change after the ones already queued. */
  private change(prepare: () => (env: SlotEnv) => SlotEnv): Promise<void> {
    let apply: (env: SlotEnv) => SlotEnv;
    try {
      apply = prepare();
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.tail.then(async () => {
      const { where } = this.store;
      const vars = parseGrubenv(await this.store.read(), where);
      await this.store.write(formatGrubenv(writeSlotEnv(vars, apply(readSlotEnv(vars, where))), where));
    });
    this.tail = run.catch(() => {});
    return run;
  }
}
