/**
 * The GRUB driver on files in a temp directory: the contract, atomic replacement, the kernel command line,
 * and compatibility with Debian's grub-editenv in both directions.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tempPathFor } from '../../../hal/bootslots/atomic-file.ts';
import { formatGrubenv } from '../../../hal/bootslots/grubenv.ts';
import { GrubBootSlots } from '../../../hal/bootslots/linux.ts';
import { initialSlotEnv, writeSlotEnv } from '../../../hal/bootslots/scheme.ts';
import type { Slot, SlotEnv } from '../../../hal/bootslots/types.ts';
import { HalError } from '../../../hal/errors.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { canRun } from '../../support/needs.ts';
import { bootSlotsContract } from './contract.ts';

/** A /boot with a grubenv, and a kernel command line naming the booted slot. */
class BootDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'tnd-boot-'));
  readonly envPath = join(this.dir, 'grubenv');
  readonly cmdlinePath = join(this.dir, 'cmdline');

  /** `null`: no environment file, or no tandem.slot on the command line. */
  constructor(booted: Slot | null = 'A', env: SlotEnv | null = initialSlotEnv()) {
    if (env !== null) writeFileSync(this.envPath, formatGrubenv(writeSlotEnv(new Map(), env), 'test'));
    this.setCmdline(
      `BOOT_IMAGE=/vmlinuz root=/dev/vda2 ro quiet${booted === null ? '' : ` tandem.slot=${booted}`}\n`,
    );
  }

  setCmdline(text: string): void {
    writeFileSync(this.cmdlinePath, text);
  }

  slots(): GrubBootSlots {
    return new GrubBootSlots({ envPath: this.envPath, cmdlinePath: this.cmdlinePath });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

bootSlotsContract('linux on a grubenv file', async ({ booted, env }) => {
  const b = new BootDir(booted, env);
  return {
    slots: b.slots(),
    readRaw: async () => readFileSync(b.envPath),
    writeRaw: async (block) => writeFileSync(b.envPath, block),
    close: async () => b.remove(),
  };
});

// ---

interface Ctx {
  b: BootDir;
}

const files = suite<Ctx>('GrubBootSlots files', {} as Ctx);
files.after.each((ctx) => ctx.b.remove());

files('a change replaces the file by rename and leaves no temp file', async (ctx) => {
  ctx.b = new BootDir();
  const inode = statSync(ctx.b.envPath).ino;
  await ctx.b.slots().setPrimary('B');
  assert.is.not(statSync(ctx.b.envPath).ino, inode);
  assert.not.ok(existsSync(tempPathFor(ctx.b.envPath)));
  assert.is(statSync(ctx.b.envPath).size, 1024);
});

files('a temp file left by a write cut short is ignored, then overwritten', async (ctx) => {
  ctx.b = new BootDir();
  writeFileSync(tempPathFor(ctx.b.envPath), '# GRUB Environment Block\nORDER=B A\nA_OK=');
  const slots = ctx.b.slots();
  assert.is((await slots.state()).primary, 'A');
  await slots.markGood('B');
  assert.not.ok(existsSync(tempPathFor(ctx.b.envPath)));
  assert.is((await slots.state()).slots.B.good, true);
});

files('a write that fails leaves the old environment whole', async (ctx) => {
  ctx.b = new BootDir();
  const before = readFileSync(ctx.b.envPath);
  mkdirSync(tempPathFor(ctx.b.envPath));
  const err = await rejects(ctx.b.slots().setPrimary('B'), withCode('HAL_IO'));
  assert.ok(err instanceof HalError && err.message.includes(ctx.b.envPath), String(err));
  assert.equal(readFileSync(ctx.b.envPath), before);
});

files('a missing environment is HAL_NOT_FOUND naming it', async (ctx) => {
  ctx.b = new BootDir('A', null);
  const err = await rejects(ctx.b.slots().state(), withCode('HAL_NOT_FOUND'));
  assert.ok(err instanceof HalError && err.message.includes(ctx.b.envPath), String(err));
  await rejects(ctx.b.slots().markGood('A'), withCode('HAL_NOT_FOUND'));
  assert.not.ok(existsSync(ctx.b.envPath));
});

files.run();

// ---

const cmdline = suite<Ctx>('GrubBootSlots booted slot from the kernel command line', {} as Ctx);
cmdline.after.each((ctx) => ctx.b.remove());

cmdline('reads tandem.slot, the last one winning', async (ctx) => {
  ctx.b = new BootDir('B');
  assert.is((await ctx.b.slots().state()).booted, 'B');
  ctx.b.setCmdline('tandem.slot=B console=ttyS0 tandem.slot=A');
  assert.is((await ctx.b.slots().state()).booted, 'A');
});

cmdline(
  'no tandem.slot is HAL_NOT_FOUND; a bad one is HAL_IO; a missing file is HAL_NOT_FOUND',
  async (ctx) => {
    ctx.b = new BootDir(null);
    const slots = ctx.b.slots();
    const err = await rejects(slots.state(), withCode('HAL_NOT_FOUND'));
    assert.match(String(err), /tandem\.slot/);
    ctx.b.setCmdline('root=/dev/vda2 tandem.slot=C');
    assert.match(String(await rejects(slots.state(), withCode('HAL_IO'))), /"C"/);
    rmSync(ctx.b.cmdlinePath);
    const gone = await rejects(slots.state(), withCode('HAL_NOT_FOUND'));
    assert.ok(gone instanceof HalError && gone.message.includes(ctx.b.cmdlinePath), String(gone));
  },
);

cmdline.run();

// ---

const editenv = suite<Ctx>('GrubBootSlots and grub-editenv read each other', {} as Ctx);
editenv.before.each((ctx) => {
  ctx.b = new BootDir('A', null);
});
editenv.after.each((ctx) => ctx.b.remove());

const grubEditenv = (b: BootDir, ...args: string[]): string =>
  execFileSync('grub-editenv', [b.envPath, ...args], { encoding: 'utf8' });

editenv('an environment provisioned by grub-editenv (with its warning comment) reads', async (ctx) => {
  grubEditenv(ctx.b, 'create');
  grubEditenv(ctx.b, 'set', 'ORDER=B A', 'A_OK=1', 'A_TRY=0', 'A_LEFT=0', 'B_OK=1', 'B_TRY=1', 'B_LEFT=2');
  assert.match(readFileSync(ctx.b.envPath, 'latin1'), /^# GRUB Environment Block\n# WARNING/);
  const s = await ctx.b.slots().state();
  assert.is(s.primary, 'B');
  assert.equal(s.slots.B, { bootable: true, attemptsLeft: 2, good: false });
});

editenv('what we write, grub-editenv lists, escapes and foreign variables included', async (ctx) => {
  grubEditenv(ctx.b, 'create');
  grubEditenv(ctx.b, 'set', 'saved_entry=a\\b', 'note=two\nlines');
  grubEditenv(ctx.b, 'set', 'ORDER=A B', 'A_OK=1', 'A_TRY=0', 'A_LEFT=0', 'B_OK=0', 'B_TRY=0', 'B_LEFT=0');
  const slots = ctx.b.slots();
  await slots.setPrimary('B', { attempts: 4 });
  assert.is(
    grubEditenv(ctx.b, 'list'),
    'saved_entry=a\\b\nnote=two\nlines\nORDER=B A\nA_OK=1\nA_TRY=0\nA_LEFT=0\nB_OK=1\nB_TRY=1\nB_LEFT=4\n',
  );
  grubEditenv(ctx.b, 'set', 'B_LEFT=1');
  grubEditenv(ctx.b, 'unset', 'note');
  assert.is((await slots.state()).slots.B.attemptsLeft, 1);
  await slots.markGood('B');
  assert.match(grubEditenv(ctx.b, 'list'), /^saved_entry=a\\b\nORDER=B A\n.*B_OK=1\nB_TRY=0\nB_LEFT=0\n$/s);
});

if (canRun('GRUB environment compatibility', { tools: ['grub-editenv'] })) editenv.run();
