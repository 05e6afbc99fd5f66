import { readFile } from 'node:fs/promises';
import { fromSystemError } from '../errors.ts';
import { writeFileAtomic } from './atomic-file.ts';
import { bootedSlot } from './cmdline.ts';
import { EnvBootSlots, type EnvStore } from './env-slots.ts';
import type { Slot } from './types.ts';

export interface GrubBootSlotsOptions {
  /** The GRUB environment block GRUB's load_env/save_env use (e.g. /boot/grub/grubenv). */
  envPath: string;
  /** The kernel command line carrying `tandem.slot=`; default /proc/cmdline. */
  cmdlinePath?: string;
}

/**
 * Boot slots on a real GRUB: the environment block is read and written by our own code (grubenv.ts), in
 * the format grub-editenv and GRUB's save_env use, and replaced by write-temp-fsync-rename. GRUB's save_env
 * writes the file in place through its block list, which needs a filesystem GRUB can write (ext2/3/4 or
 * FAT, not btrfs, LVM or RAID); a rename gives it a new, unfragmented 1024-byte file, which it handles.
 */
export class GrubBootSlots extends EnvBootSlots {
  constructor(options: GrubBootSlotsOptions) {
    super(new FileEnvStore(options.envPath, options.cmdlinePath ?? '/proc/cmdline'));
  }
}

class FileEnvStore implements EnvStore {
  constructor(
    readonly where: string,
    private readonly cmdlinePath: string,
  ) {}

  async read(): Promise<Buffer> {
    try {
      return await readFile(this.where);
    } catch (err) {
      throw fromSystemError(err, this.where, 'cannot read GRUB environment');
    }
  }

  write(block: Buffer): Promise<void> {
    return writeFileAtomic(this.where, block);
  }

  async booted(): Promise<Slot> {
    let text: string;
    try {
      text = await readFile(this.cmdlinePath, 'utf8');
    } catch (err) {
      throw fromSystemError(err, this.cmdlinePath, 'cannot read the kernel command line');
    }
    return bootedSlot(text, this.cmdlinePath);
  }
}
