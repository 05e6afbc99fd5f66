import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGrubenv } from '../../../hal/bootslots/grubenv.ts';
import { GrubBootSlots } from '../../../hal/bootslots/linux.ts';
import { initialSlotEnv, setPrimaryEnv } from '../../../hal/bootslots/scheme.ts';
import { SimBootSlots } from '../../../hal/bootslots/sim.ts';
import { type BootFiles, bootFromFiles, provisionBootFiles } from '../../../hal/bootslots/sim-files.ts';
import type { Slot } from '../../../hal/bootslots/types.ts';
import { SimClock } from '../../../hal/clock/sim.ts';
import { SimWatchdog } from '../../../hal/watchdog/sim.ts';
import type { WatchdogHandle } from '../../../hal/watchdog/types.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { bootSlotsContract, corruptBlocks } from './contract.ts';

bootSlotsContract('sim', async ({ booted, env }) => {
  const slots = new SimBootSlots({ booted, env });
  return {
    slots,
    readRaw: async () => slots.rawEnv(),
    writeRaw: async (block) => slots.setRawEnv(block),
    close: async () => {},
  };
});

// ---

const rollback = suite('SimBootSlots reboot: trial, confirmation, rollback');

rollback('an update that is confirmed on its first boot stays', async () => {
  const slots = new SimBootSlots();
  await slots.setPrimary('B', { attempts: 3 });
  assert.equal(slots.reboot(), { slot: 'B', kind: 'trial', fellBack: false });
  assert.equal((await slots.state()).slots.B, { bootable: true, attemptsLeft: 2, good: false });
  await slots.markGood('B');
  for (let i = 0; i < 5; i++) assert.equal(slots.reboot(), { slot: 'B', kind: 'good', fellBack: false });
  assert.equal((await slots.state()).slots.B, { bootable: true, attemptsLeft: 0, good: true });
});

rollback('an update never confirmed runs its attempts, then the old slot starts', async () => {
  const slots = new SimBootSlots();
  await slots.setPrimary('B', { attempts: 3 });
  const seen = [slots.reboot(), slots.reboot(), slots.reboot(), slots.reboot(), slots.reboot()];
  assert.equal(
    seen.map((c) => `${c.slot}:${c.kind}${c.fellBack ? ':fallback' : ''}`),
    ['B:trial', 'B:trial', 'B:trial', 'A:good:fallback', 'A:good:fallback'],
  );
  const s = await slots.state();
  assert.is(s.booted, 'A');
  assert.is(s.primary, 'B', 'the primary stays B: the update service sees booted != primary and cleans up');
  assert.equal(s.slots.B, { bootable: false, attemptsLeft: 0, good: false });
  await slots.markBad('B');
  await slots.setPrimary('A');
  await slots.markGood('A');
  assert.equal(slots.reboot(), { slot: 'A', kind: 'good', fellBack: false });
});

rollback('marking the trial slot bad falls back at the next boot', async () => {
  const slots = new SimBootSlots();
  await slots.setPrimary('B', { attempts: 5 });
  slots.reboot();
  await slots.markBad('B');
  assert.equal(slots.reboot(), { slot: 'A', kind: 'good', fellBack: true });
});

rollback('nothing bootable: the primary starts as a last resort, environment untouched', async () => {
  const slots = new SimBootSlots();
  await slots.markBad('A');
  const before = slots.rawEnv();
  assert.equal(slots.reboot(), { slot: 'A', kind: 'last-resort', fellBack: false });
  assert.equal(slots.rawEnv(), before);
});

rollback('a damaged environment is decided as GRUB reads it and is never rewritten', async () => {
  const onTrial = setPrimaryEnv(initialSlotEnv(), 'B', 2);
  const expected: Record<string, string> = {
    'truncated to 512 bytes': 'B:trial',
    'all zeros (a wiped sector)': 'A:last-resort',
    'a damaged signature': 'A:last-resort',
    'a byte flipped in the padding': 'B:trial',
    'A_OK=7': 'B:trial',
    'ORDER="A C"': 'A:good',
    'B_LEFT missing': 'A:good:fallback',
    'a line without =': 'B:trial',
    'A_OK set twice': 'B:last-resort',
  };
  const slots = new SimBootSlots({ booted: 'B' });
  for (const [what, block] of corruptBlocks(onTrial)) {
    slots.setRawEnv(block);
    const c = slots.reboot();
    assert.is(`${c.slot}:${c.kind}${c.fellBack ? ':fallback' : ''}`, expected[what], what);
    assert.equal(slots.rawEnv(), block, what);
  }
});

rollback.run();

// ---

const power = suite('SimBootSlots power cut during a write');

power('the change fails with HAL_IO and the old environment boots', async () => {
  const slots = new SimBootSlots();
  const before = slots.rawEnv();
  slots.cutPowerOnNextWrite();
  await rejects(slots.setPrimary('B'), withCode('HAL_IO'));
  assert.equal(slots.rawEnv(), before);
  assert.is(slots.writes, 0);
  assert.equal(slots.reboot(), { slot: 'A', kind: 'good', fellBack: false });
  await slots.setPrimary('B');
  assert.is(parseGrubenv(slots.rawEnv(), 'test').get('ORDER'), 'B A');
});

power.run();

// ---

const world = suite('SimBootSlots with SimWatchdog: a hanging update rolls back');

world('firmware that never feeds the watchdog is abandoned after its attempts', async () => {
  const clock = new SimClock();
  const slots = new SimBootSlots();
  const wd = new SimWatchdog({ clock });
  const boots: Slot[] = [];
  let supervisor: WatchdogHandle | undefined;
  wd.onBite(() => {
    boots.push(slots.reboot().slot);
    supervisor = undefined;
  });
  await slots.setPrimary('B', { attempts: 2 });
  boots.push(slots.reboot().slot);
  for (let second = 0; second < 60; second++) {
    if (supervisor === undefined) supervisor = await wd.open('/dev/watchdog', { timeoutS: 10 });
    // The new firmware (B) hangs before it feeds or confirms anything; A is healthy and feeds every second.
    else if (slots.booted === 'A') await supervisor.keepAlive();
    clock.advance(1000);
  }
  assert.equal(boots, ['B', 'B', 'A']);
  assert.is(wd.bites, 2);
  assert.equal(await slots.state(), {
    booted: 'A',
    primary: 'B',
    slots: {
      A: { bootable: true, attemptsLeft: 0, good: true },
      B: { bootable: false, attemptsLeft: 0, good: false },
    },
  });
});

world.run();

// ---

interface FilesCtx {
  dir: string;
  files: BootFiles;
}

const files = suite<FilesCtx>(
  'bootFromFiles: a sim appliance whose disk outlives its processes',
  {} as FilesCtx,
);
files.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'tnd-simboot-'));
  ctx.files = { envPath: join(ctx.dir, 'grubenv'), cmdlinePath: join(ctx.dir, 'cmdline') };
});
files.after.each((ctx) => rmSync(ctx.dir, { recursive: true, force: true }));

files(
  'the firmware (GrubBootSlots on the files) sees each power-on; a spent trial rolls back',
  async ({ files: f }) => {
    await provisionBootFiles(f);
    const firmware = new GrubBootSlots(f);
    await firmware.setPrimary('B', { attempts: 2 });
    writeFileSync(f.cmdlinePath, 'root=/dev/vda2 tandem.slot=A quiet\n');
    assert.equal(await bootFromFiles(f), { slot: 'B', kind: 'trial', fellBack: false });
    assert.is(readFileSync(f.cmdlinePath, 'utf8'), 'root=/dev/vda2 quiet tandem.slot=B\n');
    assert.equal((await firmware.state()).slots.B, { bootable: true, attemptsLeft: 1, good: false });
    await bootFromFiles(f);
    assert.equal(await bootFromFiles(f), { slot: 'A', kind: 'good', fellBack: true });
    const s = await firmware.state();
    assert.is(s.booted, 'A');
    assert.is(s.slots.B.bootable, false);
  },
);

files(
  'a damaged environment starts A and is left as it is; a missing one is HAL_NOT_FOUND',
  async ({ files: f }) => {
    await provisionBootFiles(f, initialSlotEnv(), 'B');
    const [, block] = corruptBlocks()[1] as [string, Buffer];
    writeFileSync(f.envPath, block);
    assert.equal(await bootFromFiles(f), { slot: 'A', kind: 'last-resort', fellBack: false });
    assert.equal(readFileSync(f.envPath), block);
    assert.is(readFileSync(f.cmdlinePath, 'utf8'), 'tandem.slot=A\n');
    rmSync(f.envPath);
    await rejects(bootFromFiles(f), withCode('HAL_NOT_FOUND'));
  },
);

files.run();
