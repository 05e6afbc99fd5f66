import { readFile } from 'node:fs/promises';
import { fromSystemError, HalError } from '../errors.ts';
import { writeFileAtomic } from './atomic-file.ts';
import { bootBlock } from './bootloader.ts';
import { CMDLINE_KEY } from './cmdline.ts';
import { formatGrubenv } from './grubenv.ts';
import { initialSlotEnv, writeSlotEnv } from './scheme.ts';
import type { BootChoice, Slot, SlotEnv } from './types.ts';

/**
 * The bootloader of a simulated appliance whose disk outlives its processes (the sim board keeps a grubenv
 * and a kernel command line per node): the firmware runs the Linux driver (GrubBootSlots) on these files,
 * and the testbed calls `bootFromFiles()` each time it "powers the node on".
 */
export interface BootFiles {
  envPath: string;
  /** The file the booted firmware reads as its kernel command line. */
  cmdlinePath: string;
}

/** A fresh appliance's files: the slot variables (default: A good and primary, B empty), booted from `booted`. */
export async function provisionBootFiles(
  files: BootFiles,
  env: SlotEnv = initialSlotEnv(),
  booted: Slot = 'A',
): Promise<void> {
  await writeFileAtomic(files.envPath, formatGrubenv(writeSlotEnv(new Map(), env), files.envPath));
  await writeFileAtomic(files.cmdlinePath, Buffer.from(`${CMDLINE_KEY}=${booted}\n`));
}

/**
 * Power-on: picks a slot from the environment the way GRUB does (select.ts), saves the count-down, and
 * writes the command line naming the slot, keeping its other parameters. A damaged environment is decided
 * the way GRUB would and left as it is (bootloader.ts).
 */
export async function bootFromFiles(files: BootFiles): Promise<BootChoice> {
  const block = await readOrThrow(files.envPath, 'cannot read GRUB environment');
  const { choice, save } = bootBlock(block, files.envPath);
  if (save !== undefined) await writeFileAtomic(files.envPath, save);
  const old = await readOrThrow(files.cmdlinePath, 'cannot read the kernel command line').catch(
    (err: unknown) => {
      if (HalError.is(err, 'HAL_NOT_FOUND')) return Buffer.alloc(0);
      throw err;
    },
  );
  const words = old
    .toString('utf8')
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '' && !w.startsWith(`${CMDLINE_KEY}=`));
  await writeFileAtomic(
    files.cmdlinePath,
    Buffer.from(`${[...words, `${CMDLINE_KEY}=${choice.slot}`].join(' ')}\n`),
  );
  return choice;
}

async function readOrThrow(path: string, action: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw fromSystemError(err, path, action);
  }
}
