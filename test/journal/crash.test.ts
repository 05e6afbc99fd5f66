import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JOURNAL_FILE } from '../../firmware/journal/recovery.ts';
import { Store } from '../../firmware/journal/store.ts';
import { Rng } from '../../hal/sim/rng.ts';
import { inCI } from '../support/needs.ts';
import { bundleFixture, NodeProcess } from './support/proc.ts';
import { TEST_KEY, TmpDirs } from './support/tmp.ts';

/**
 * The crash test: a writer process (leader) streams health entries to a follower process and reports the
 * ones the follower acknowledged; it is killed with SIGKILL at a random moment (during start-up, promotion,
 * writes, group commits, checkpoints), over and over. After every kill its file must pass integrity_check
 * and hold every acknowledged entry, the follower must hold them too, and the next start must find the
 * file sound. CI runs at least 200 kills; set JOURNAL_CRASH_KILLS / JOURNAL_CRASH_SEED to reproduce.
 */
const KILLS = Number(process.env.JOURNAL_CRASH_KILLS ?? (inCI ? 200 : 30));
const SEED = Number(process.env.JOURNAL_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const keyHex = TEST_KEY.toString('hex');
const tmp = new TmpDirs();

const crash = suite('journal: SIGKILL the writer at random points');

let bundle: string | undefined;
crash.before(async () => {
  bundle = await bundleFixture();
});
crash.after(() => {
  tmp.cleanup();
  if (bundle) rmSync(bundle, { force: true });
});

crash(
  `${KILLS} kills (seed=${SEED}): integrity_check passes and every acknowledged entry survives on both sides`,
  async () => {
    console.log(`journal crash test: seed=${SEED} kills=${KILLS}`);
    const rng = new Rng(SEED);
    const dirA = tmp.make('ca');
    const dirB = tmp.make('cb');
    const b = await NodeProcess.start({ dir: dirB, node: 'b', keyHex }, undefined, 15_000, bundle);
    const acked: string[] = [];
    const stats = { duringStart: 0, duringPromote: 0, duringWrites: 0, ackedPerKill: 0 };
    try {
      for (let round = 0; round < KILLS; round++) {
        const where = `seed=${SEED} round=${round}`;
        const a = await NodeProcess.start({
          dir: dirA,
          node: 'a',
          peerPort: b.port,
          keyHex,
          checkpointEveryEntries: rng.int(50, 400),
        });
        assert.is(a.recovery.source, round === 0 ? 'fresh' : 'file', `${where}: the file was sound at boot`);
        const mine: string[] = [];
        a.onLine((line) => {
          const r = line.acked as [string, number, number] | undefined;
          if (r) for (let n = r[1]; n <= r[2]; n++) mine.push(`${r[0]}${n}`);
        });
        const phase = rng.int(0, 9);
        const delay = rng.int(0, 150);
        if (phase === 0) {
          stats.duringStart++;
        } else {
          const promoting = a.call('promote', { epoch: 'next' }).catch(() => undefined);
          if (phase === 1) stats.duringPromote++;
          else {
            await promoting;
            await a.call('write-loop', { prefix: `r${round}-`, batch: rng.int(1, 25) });
            stats.duringWrites++;
          }
        }
        await new Promise((r) => setTimeout(r, delay));
        a.kill('SIGKILL');
        await a.exited;
        acked.push(...mine);
        stats.ackedPerKill += mine.length;

        const store = Store.open(join(dirA, JOURNAL_FILE));
        try {
          assert.equal(store.integrityCheck(), [], `${where}: integrity_check after the kill`);
          const lost = mine.filter((s) => store.health.get(s) === undefined);
          assert.equal(lost, [], `${where}: acknowledged entries missing on the writer`);
        } finally {
          store.close();
        }
        const missing = (await b.call('missing', { servers: mine })) as string[];
        assert.equal(missing, [], `${where}: acknowledged entries missing on the follower`);
      }
      const store = Store.open(join(dirA, JOURNAL_FILE));
      try {
        const lost = acked.filter((s) => store.health.get(s) === undefined);
        assert.equal(lost, [], `seed=${SEED}: acknowledged entries missing on the writer at the end`);
      } finally {
        store.close();
      }
      assert.equal(
        await b.call('missing', { servers: acked }),
        [],
        `seed=${SEED}: missing on the follower at the end`,
      );
      assert.ok(acked.length > 0, 'some entries were acknowledged');
      console.log(
        `journal crash test: ${acked.length} acknowledged entries checked; kills during start ${stats.duringStart}, promotion ${stats.duringPromote}, writes ${stats.duringWrites}`,
      );
    } finally {
      await b.stop();
    }
  },
);

crash.run();
