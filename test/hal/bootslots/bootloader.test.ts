import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bootBlock, grubLoadEnv, scriptSelect } from '../../../hal/bootslots/bootloader.ts';
import { formatGrubenv, GRUBENV_SIGNATURE, parseGrubenv } from '../../../hal/bootslots/grubenv.ts';
import { initialSlotEnv, setPrimaryEnv, writeSlotEnv } from '../../../hal/bootslots/scheme.ts';
import { selectBoot } from '../../../hal/bootslots/select.ts';
import { allSlotEnvs } from './envs.ts';

const NAMES = ['ORDER', 'A_OK', 'A_TRY', 'A_LEFT', 'B_OK', 'B_TRY', 'B_LEFT'];

const model = suite('the GRUB model agrees with select.ts on well-formed environments');

model('scriptSelect decides and counts down as selectBoot, on every combination', () => {
  for (const env of allSlotEnvs()) {
    const { env: saved, ...expected } = selectBoot(env);
    const vars = writeSlotEnv(new Map(), env);
    const got = scriptSelect(vars);
    assert.equal(got.choice, expected, JSON.stringify(env));
    const after = got.left === undefined ? vars : new Map(vars).set(...got.left);
    assert.equal(after, writeSlotEnv(new Map(), saved), JSON.stringify(env));
  }
});

model('grubLoadEnv reads a well-formed block as parseGrubenv does, limited to the names asked for', () => {
  for (const env of allSlotEnvs()) {
    const block = formatGrubenv(writeSlotEnv(new Map([['other', 'x\\y']]), env), 'test');
    const strict = parseGrubenv(block, 'test');
    strict.delete('other');
    assert.equal(grubLoadEnv(block, NAMES), strict);
  }
});

model.run();

// ---

const lenient = suite('grubLoadEnv on what the strict reader refuses');

const raw = (body: string): Buffer => Buffer.from(GRUBENV_SIGNATURE + body, 'latin1');

lenient('no signature: nothing; a later duplicate wins; junk in the padding is ignored', () => {
  assert.equal(grubLoadEnv(Buffer.alloc(1024), NAMES), new Map());
  assert.equal(grubLoadEnv(raw('A_OK=1\nA_OK=0\n##x##'), NAMES), new Map([['A_OK', '0']]));
});

lenient('a line without = swallows the next name; a broken tail ends the reading', () => {
  assert.equal(grubLoadEnv(raw('A_TRY 0\nA_LEFT=2\nB_OK=1\n'), NAMES), new Map([['B_OK', '1']]));
  assert.equal(grubLoadEnv(raw('A_OK=1\nB_OK=1'), NAMES), new Map([['A_OK', '1']]));
});

lenient.run();

// ---

const boot = suite('bootBlock');

boot('saves a block only when a trial was counted down, and never a damaged one', () => {
  const good = formatGrubenv(writeSlotEnv(new Map(), initialSlotEnv()), 'test');
  assert.equal(bootBlock(good, 'test'), { choice: { slot: 'A', kind: 'good', fellBack: false } });
  const trial = formatGrubenv(writeSlotEnv(new Map(), setPrimaryEnv(initialSlotEnv(), 'B', 2)), 'test');
  const r = bootBlock(trial, 'test');
  assert.equal(r.choice, { slot: 'B', kind: 'trial', fellBack: false });
  assert.is(r.save && parseGrubenv(r.save, 'test').get('B_LEFT'), '1');
  const damaged = Buffer.from(trial.toString('latin1').replace('A_OK=1', 'A_OK=7'), 'latin1');
  assert.equal(bootBlock(damaged, 'test'), { choice: { slot: 'B', kind: 'trial', fellBack: false } });
});

boot.run();
