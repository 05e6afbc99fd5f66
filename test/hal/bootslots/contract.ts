/**
 * The boot-slot contract (hal/bootslots/types.ts) as uvu suites, run against both drivers: the Linux driver
 * on a grubenv file and a command-line file in a temp directory, and the sim. A harness starts booted from A
 * with the slot variables it is given (by default A good and primary, B empty).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatGrubenv, GRUBENV_SIGNATURE, parseGrubenv } from '../../../hal/bootslots/grubenv.ts';
import { initialSlotEnv, writeSlotEnv } from '../../../hal/bootslots/scheme.ts';
import type { BootSlots, BootState, Slot, SlotEnv } from '../../../hal/bootslots/types.ts';
import { HalError } from '../../../hal/errors.ts';
import { rejects, withCode } from '../../support/assert.ts';

export interface BootSlotsHarness {
  slots: BootSlots;
  /** The stored environment block, byte for byte. */
  readRaw(): Promise<Buffer>;
  /** Replaces the stored block with any bytes. */
  writeRaw(block: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export type MakeBootSlotsHarness = (start: { booted: Slot; env: SlotEnv }) => Promise<BootSlotsHarness>;

interface Ctx {
  h: BootSlotsHarness;
}

const fresh: BootState = {
  booted: 'A',
  primary: 'A',
  slots: {
    A: { bootable: true, attemptsLeft: 0, good: true },
    B: { bootable: false, attemptsLeft: 0, good: false },
  },
};

/** Blocks no driver may accept, made from `env`, each with what is wrong with it. */
export function corruptBlocks(env: SlotEnv = initialSlotEnv()): [string, Buffer][] {
  const good = formatGrubenv(writeSlotEnv(new Map(), env), 'contract');
  const text = good.toString('latin1');
  const edit = (from: RegExp, to: string): Buffer => {
    assert.match(text, from);
    return Buffer.from(text.replace(from, to), 'latin1');
  };
  const flipped = Buffer.from(good);
  flipped[1000] = 0x41;
  return [
    ['truncated to 512 bytes', good.subarray(0, 512)],
    ['all zeros (a wiped sector)', Buffer.alloc(1024)],
    ['a damaged signature', edit(/GRUB Environment/, 'GRUB Environmant')],
    ['a byte flipped in the padding', flipped],
    ['A_OK=7', edit(/A_OK=[01]/, 'A_OK=7')],
    ['ORDER="A C"', edit(/ORDER=[AB] [AB]/, 'ORDER=A C')],
    ['B_LEFT missing', edit(/B_LEFT=\d\n/, '#########')],
    ['a line without =', edit(/A_TRY=/, 'A_TRY ')],
    ['A_OK set twice', edit(/B_OK=[01]/, 'A_OK=0')],
  ];
}

export function bootSlotsContract(label: string, makeHarness: MakeBootSlotsHarness): void {
  const make = (name: string, env: SlotEnv = initialSlotEnv()) => {
    const s = suite<Ctx>(`${label}: ${name}`, {} as Ctx);
    s.before.each(async (ctx) => {
      ctx.h = await makeHarness({ booted: 'A', env });
    });
    s.after.each(async (ctx) => {
      await ctx.h.close();
    });
    return s;
  };

  // ---

  const changes = make('changes');

  changes('a fresh appliance: booted and primary A, A good, B not bootable', async ({ h }) => {
    assert.equal(await h.slots.state(), fresh);
  });

  changes('setPrimary puts the slot first, on trial, with its attempts (default 3)', async ({ h }) => {
    await h.slots.setPrimary('B', { attempts: 2 });
    const s = await h.slots.state();
    assert.is(s.primary, 'B');
    assert.is(s.booted, 'A');
    assert.equal(s.slots.B, { bootable: true, attemptsLeft: 2, good: false });
    assert.equal(s.slots.A, fresh.slots.A);
    await h.slots.setPrimary('A');
    assert.equal((await h.slots.state()).slots.A, { bootable: true, attemptsLeft: 3, good: false });
  });

  changes('markGood confirms, markBad retires', async ({ h }) => {
    await h.slots.setPrimary('B', { attempts: 2 });
    await h.slots.markGood('B');
    assert.equal((await h.slots.state()).slots.B, { bootable: true, attemptsLeft: 0, good: true });
    await h.slots.markBad('A');
    const s = await h.slots.state();
    assert.equal(s.slots.A, { bootable: false, attemptsLeft: 0, good: false });
    assert.is(s.primary, 'B');
  });

  changes('changes are applied in call order', async ({ h }) => {
    await Promise.all([
      h.slots.setPrimary('B', { attempts: 4 }),
      h.slots.markGood('B'),
      h.slots.markBad('A'),
    ]);
    const s = await h.slots.state();
    assert.equal(s.slots, {
      A: { bootable: false, attemptsLeft: 0, good: false },
      B: { bootable: true, attemptsLeft: 0, good: true },
    });
  });

  changes('the block stays a well-formed GRUB environment and keeps foreign variables', async ({ h }) => {
    const vars = parseGrubenv(await h.readRaw(), 'contract');
    vars.set('saved_entry', 'Tandem \\ slot\nA');
    await h.writeRaw(formatGrubenv(vars, 'contract'));
    await h.slots.setPrimary('B');
    const raw = await h.readRaw();
    assert.is(raw.length, 1024);
    assert.ok(raw.toString('latin1').startsWith(GRUBENV_SIGNATURE));
    const after = parseGrubenv(raw, 'contract');
    assert.is(after.get('saved_entry'), 'Tandem \\ slot\nA');
    assert.is(after.get('ORDER'), 'B A');
    assert.is(after.get('B_TRY'), '1');
    assert.is(after.get('B_LEFT'), '3');
  });

  changes.run();

  // ---

  const refusals = make('refusals');

  refusals(
    'a slot other than A or B is HAL_INVALID_ARGUMENT naming it, and nothing is written',
    async ({ h }) => {
      const before = await h.readRaw();
      for (const bad of ['C', 'a', '', undefined, 1]) {
        const err = await rejects(h.slots.markGood(bad as Slot), withCode('HAL_INVALID_ARGUMENT'));
        assert.ok(err instanceof HalError && err.message.includes(String(bad)), String(err));
        await rejects(h.slots.markBad(bad as Slot), withCode('HAL_INVALID_ARGUMENT'));
        await rejects(h.slots.setPrimary(bad as Slot), withCode('HAL_INVALID_ARGUMENT'));
      }
      assert.equal(await h.readRaw(), before);
    },
  );

  refusals('attempts outside 1 to 9 are HAL_INVALID_ARGUMENT, and nothing is written', async ({ h }) => {
    const before = await h.readRaw();
    for (const attempts of [0, 10, -1, 2.5, Number.NaN]) {
      await rejects(h.slots.setPrimary('B', { attempts }), withCode('HAL_INVALID_ARGUMENT'));
    }
    assert.equal(await h.readRaw(), before);
  });

  refusals('a corrupt environment is HAL_IO saying what is wrong, and is never rewritten', async ({ h }) => {
    for (const [what, block] of corruptBlocks()) {
      await h.writeRaw(block);
      const err = await rejects(h.slots.state(), withCode('HAL_IO'), `state() on ${what}`);
      assert.ok(err instanceof HalError && err.message.length > 20, what);
      await rejects(h.slots.markGood('A'), withCode('HAL_IO'), `markGood() on ${what}`);
      await rejects(h.slots.setPrimary('B'), withCode('HAL_IO'), `setPrimary() on ${what}`);
      assert.equal(await h.readRaw(), block, `${what} was rewritten`);
    }
  });

  refusals('an environment never set up is HAL_IO naming the missing variable', async ({ h }) => {
    await h.writeRaw(formatGrubenv(new Map([['saved_entry', '0']]), 'contract'));
    const err = await rejects(h.slots.state(), withCode('HAL_IO'));
    assert.match(String(err), /ORDER/);
  });

  refusals.run();
}
