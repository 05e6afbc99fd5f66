import { HalError } from '../errors.ts';
import { bootBlock } from './bootloader.ts';
import { EnvBootSlots, type EnvStore } from './env-slots.ts';
import { formatGrubenv } from './grubenv.ts';
import { initialSlotEnv, writeSlotEnv } from './scheme.ts';
import type { BootChoice, Slot, SlotEnv } from './types.ts';

export interface SimBootSlotsOptions {
  /** The slot running when the world starts; default 'A'. */
  booted?: Slot;
  /** The slot variables to start with; default initialSlotEnv() (A good and primary, B empty). */
  env?: SlotEnv;
  /** Names the simulated environment in messages; default 'sim:grubenv'. */
  name?: string;
}

class MemoryEnvStore implements EnvStore {
  block: Buffer;
  bootedSlot: Slot;
  writes = 0;
  powerCutArmed = false;

  constructor(
    readonly where: string,
    env: SlotEnv,
    booted: Slot,
  ) {
    this.block = formatGrubenv(writeSlotEnv(new Map(), env), where);
    this.bootedSlot = booted;
  }

  async read(): Promise<Buffer> {
    return Buffer.from(this.block);
  }

  async write(block: Buffer): Promise<void> {
    if (this.powerCutArmed) {
      this.powerCutArmed = false;
      throw new HalError('HAL_IO', `cannot write ${this.where}: power lost during the write (simulated)`, {
        device: this.where,
      });
    }
    this.block = Buffer.from(block);
    this.writes++;
  }

  async booted(): Promise<Slot> {
    return this.bootedSlot;
  }
}

/**
 * Boot slots of one simulated appliance: the same GRUB environment block as the Linux driver, held in
 * memory (sim-files.ts is the bootloader for an appliance whose files outlive its processes), so it accepts and refuses exactly the same things. Test hooks: `reboot()` runs the bootloader
 * (bootloader.ts) on the block, `setRawEnv()` damages it, `cutPowerOnNextWrite()` makes the next change fail
 * and leave the old block (a power cut leaves the old or the new environment, here the old).
 */
export class SimBootSlots extends EnvBootSlots {
  private readonly mem: MemoryEnvStore;

  constructor(options: SimBootSlotsOptions = {}) {
    const mem = new MemoryEnvStore(
      options.name ?? 'sim:grubenv',
      options.env ?? initialSlotEnv(),
      options.booted ?? 'A',
    );
    super(mem);
    this.mem = mem;
  }

  /** The slot running now. */
  get booted(): Slot {
    return this.mem.bootedSlot;
  }

  /** Changes that reached the block. */
  get writes(): number {
    return this.mem.writes;
  }

  /**
   * The box restarts: the bootloader picks a slot from the block (bootloader.ts: select.ts on a well-formed
   * block, GRUB's own reading of a damaged one, which it leaves as it is), saves its count-down, and that
   * slot runs.
   */
  reboot(): BootChoice {
    const { choice, save } = bootBlock(this.mem.block, this.mem.where);
    if (save !== undefined) this.mem.block = save;
    this.mem.bootedSlot = choice.slot;
    return choice;
  }

  /** A copy of the 1024-byte block. */
  rawEnv(): Buffer {
    return Buffer.from(this.mem.block);
  }

  /** Replaces the block with any bytes (a damaged disk, a foreign tool). */
  setRawEnv(block: Uint8Array): void {
    this.mem.block = Buffer.from(block);
  }

  /** The next change fails with HAL_IO and leaves the block as it was. */
  cutPowerOnNextWrite(): void {
    this.mem.powerCutArmed = true;
  }
}
