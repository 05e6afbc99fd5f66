/**
 * hal/bootslots/grub-select.cfg, the script GRUB runs at every boot, against select.ts, its specification:
 * real GRUB (grub-emu) runs the script on every slot combination, each in its own environment block on an
 * ext2 image, so its own load_env and save_env do the reading and the count-down, and the test compares
 * the slot it picked and the block it saved with what the sim's reboot does; on damaged blocks, which the
 * sim decides by its model of GRUB's lenient reading (bootloader.ts), the slot picked.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatGrubenv, parseGrubenv } from '../../../hal/bootslots/grubenv.ts';
import {
  initialSlotEnv,
  markGoodEnv,
  readSlotEnv,
  setPrimaryEnv,
  writeSlotEnv,
} from '../../../hal/bootslots/scheme.ts';
import { SimBootSlots } from '../../../hal/bootslots/sim.ts';
import { canRun } from '../../support/needs.ts';
import { corruptBlocks } from './contract.ts';
import { allSlotEnvs } from './envs.ts';

const SCRIPT = join(import.meta.dirname, '../../../hal/bootslots/grub-select.cfg');

const syntax = suite('grub-select.cfg syntax');

syntax('grub-script-check accepts it', () => {
  const r = spawnSync('grub-script-check', [SCRIPT], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stdout + r.stderr);
});

if (canRun('GRUB script syntax check', { tools: ['grub-script-check'] })) syntax.run();

// ---

interface Ctx {
  dir: string;
}

const grub = suite<Ctx>('grub-select.cfg under grub-emu agrees with select.ts', { dir: '' });
grub.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'tnd-grub-'));
});
grub.after((ctx) => {
  rmSync(ctx.dir, { recursive: true, force: true });
});

/** Runs the script once per block under grub-emu; returns the slot GRUB picked and the block it left. */
function runGrub(dir: string, blocks: Buffer[]): { slot: string | undefined; saved: Buffer }[] {
  const fsDir = join(dir, 'fs');
  const outDir = join(dir, 'out');
  mkdirSync(fsDir);
  mkdirSync(outDir);
  blocks.forEach((b, i) => {
    writeFileSync(join(fsDir, `e${i}`), b);
  });
  const image = join(dir, 'disk.img');
  // 1 KiB blocks: each environment is one block, which GRUB's save_env writes in place.
  execFileSync('mke2fs', [
    '-q',
    '-F',
    '-t',
    'ext2',
    '-b',
    '1024',
    '-N',
    String(blocks.length + 32),
    '-d',
    fsDir,
    image,
    String(blocks.length + 512),
  ]);
  writeFileSync(join(dir, 'device.map'), `(hd0) ${image}\n`);
  const indices = blocks.map((_, i) => i).join(' ');
  writeFileSync(
    join(dir, 'grub.cfg'),
    `for i in ${indices}; do\n  set tandem_env=(hd0)/e$i\n  source (host)${SCRIPT}\n  echo "RESULT $i $tandem_slot"\ndone\nhalt\n`,
  );
  const run = spawnSync('grub-emu', ['-d', dir, '-r', 'host', '-m', join(dir, 'device.map')], {
    encoding: 'latin1',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
    killSignal: 'SIGKILL',
  });
  assert.is(run.status, 0, `grub-emu: ${run.error ?? run.stderr}`);
  const picked = new Map<number, string>();
  for (const m of run.stdout.matchAll(/RESULT (\d+) ([AB]?)/g)) picked.set(Number(m[1]), m[2] as string);
  execFileSync('debugfs', ['-R', `rdump / ${outDir}`, image], { stdio: 'ignore' });
  return blocks.map((_, i) => ({ slot: picked.get(i), saved: readFileSync(join(outDir, `e${i}`)) }));
}

grub('every slot combination, and damaged blocks, pick the slot the sim picks', (ctx) => {
  const envs = allSlotEnvs();
  const valid = envs.map((e) => formatGrubenv(writeSlotEnv(new Map([['saved_entry', '0']]), e), 'test'));
  const damagedFrom = [
    initialSlotEnv(),
    setPrimaryEnv(initialSlotEnv(), 'B', 2),
    markGoodEnv(setPrimaryEnv(initialSlotEnv(), 'B', 2), 'B'),
    setPrimaryEnv(markGoodEnv(initialSlotEnv(), 'B'), 'A', 1),
  ];
  const damaged = damagedFrom.flatMap((e) => corruptBlocks(e));
  const results = runGrub(ctx.dir, [...valid, ...damaged.map(([, b]) => b)]);

  envs.forEach((env, i) => {
    const sim = new SimBootSlots({ env });
    const choice = sim.reboot();
    const got = results[i];
    const label = `ORDER=${env.order.join(' ')} ${JSON.stringify(env.slots)}`;
    if (got === undefined) {
      assert.unreachable(label);
      return;
    }
    assert.is(got.slot, choice.slot, label);
    assert.equal(
      readSlotEnv(parseGrubenv(got.saved, 'grub'), 'grub'),
      readSlotEnv(parseGrubenv(sim.rawEnv(), 'sim'), 'sim'),
      label,
    );
  });
  damaged.forEach(([what, block], j) => {
    const sim = new SimBootSlots();
    sim.setRawEnv(block);
    assert.is(results[valid.length + j]?.slot, sim.reboot().slot, `${what} (block ${j})`);
  });
});

if (canRun('GRUB script under grub-emu', { tools: ['grub-emu', 'mke2fs', 'debugfs'] })) grub.run();
