/**
 * The Linux driver against stand-ins (stand-in.ts): the contract and its byte-level behaviour on a file and
 * a FIFO, how it drives wdctl, and how it maps wdctl's failures, with the real wdctl where a file is enough
 * to make it fail. linux-device.test.ts runs on a kernel watchdog.
 */

import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HalError } from '../../../hal/errors.ts';
import { LinuxWatchdog } from '../../../hal/watchdog/linux.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { canRun } from '../../support/needs.ts';
import { watchdogContract } from './contract.ts';
import { alive, StandIn } from './stand-in.ts';

watchdogContract('linux on a file and a wdctl stub', async () => {
  const s = new StandIn();
  return {
    driver: new LinuxWatchdog({ wdctl: s.wdctl }),
    device: s.device,
    missing: s.missing,
    tooLargeTimeoutS: 2047,
    close: async () => s.remove(),
  };
});

// ---

interface Ctx {
  s: StandIn;
  driver: LinuxWatchdog;
}

const bytes = suite<Ctx>('LinuxWatchdog bytes on a file', {} as Ctx);
bytes.before.each((ctx) => {
  ctx.s = new StandIn();
  ctx.driver = new LinuxWatchdog({ wdctl: ctx.s.wdctl });
});
bytes.after.each((ctx) => ctx.s.remove());

bytes('opening writes nothing; each keep-alive is one NUL; the magic close ends with V', async (ctx) => {
  const wd = await ctx.driver.open(ctx.s.device, { timeoutS: 15 });
  assert.is(ctx.s.bytes(), '');
  await wd.keepAlive();
  assert.is(ctx.s.bytes(), '\0');
  await wd.keepAlive();
  await wd.keepAlive();
  await wd.close({ magic: true });
  assert.is(ctx.s.bytes(), '\0\0\0V');
});

bytes('a plain close writes no V, and keep-alives queued before a magic close precede the V', async (ctx) => {
  const wd = await ctx.driver.open(ctx.s.device);
  await Promise.all([wd.keepAlive(), wd.keepAlive()]);
  await wd.close({ magic: false });
  assert.is(ctx.s.bytes(), '\0\0');
  const again = await ctx.driver.open(ctx.s.device);
  const calls = [again.keepAlive(), again.keepAlive(), again.close({ magic: true })];
  await Promise.all(calls);
  assert.is(ctx.s.bytes(), '\0\0\0\0V');
});

bytes('the timeout is programmed through wdctl before the device is opened, and read back', async (ctx) => {
  const wd = await ctx.driver.open(ctx.s.device, { timeoutS: 12 });
  assert.is(wd.timeoutS, 12);
  await wd.close({ magic: true });
  const plain = await ctx.driver.open(ctx.s.device);
  assert.is(plain.timeoutS, 12);
  await plain.close({ magic: true });
  assert.equal(ctx.s.wdctlRuns(), [
    `--settimeout 12 --oneline --noflags --noident ${ctx.s.device}`,
    `--oneline --noflags --noident ${ctx.s.device}`,
  ]);
});

bytes('a missing device is refused before wdctl runs and is never created', async (ctx) => {
  await rejects(ctx.driver.open(ctx.s.missing, { timeoutS: 5 }), withCode('HAL_NOT_FOUND'));
  assert.equal(ctx.s.wdctlRuns(), []);
  assert.throws(() => openSync(ctx.s.missing, 'r'));
});

bytes.run();

// ---

const fifo = suite<Ctx>('LinuxWatchdog on a FIFO', {} as Ctx);
fifo.before.each((ctx) => {
  ctx.s = new StandIn();
  ctx.driver = new LinuxWatchdog({ wdctl: ctx.s.wdctl });
});
fifo.after.each((ctx) => ctx.s.remove());

const canFifo = canRun('watchdog FIFO stand-in', { tools: ['mkfifo'] });

fifo('each write reaches the reader when its call resolves; the close is seen as EOF', async (ctx) => {
  const path = join(ctx.s.dir, 'watchdog1');
  execFileSync('mkfifo', [path]);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(16);
  const drain = (): string => {
    try {
      return buf.toString('latin1', 0, readSync(reader, buf));
    } catch (err) {
      if ((err as { code?: string }).code === 'EAGAIN') return '(nothing)';
      throw err;
    }
  };
  try {
    const wd = await ctx.driver.open(path, { timeoutS: 3 });
    assert.is(drain(), '(nothing)');
    await wd.keepAlive();
    assert.is(drain(), '\0');
    await wd.close({ magic: true });
    assert.is(drain(), 'V');
    assert.is(drain(), '', 'EOF once the writer closed');
  } finally {
    closeSync(reader);
  }
});

fifo('with nobody reading, open fails at once instead of hanging', async (ctx) => {
  const path = join(ctx.s.dir, 'watchdog2');
  execFileSync('mkfifo', [path]);
  await rejects(ctx.driver.open(path, { timeoutS: 3 }), (e) => HalError.is(e) && e.message.includes(path));
  const again = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  closeSync(again);
});

if (canFifo) fifo.run();

// ---

const tool = suite<Ctx>('LinuxWatchdog and wdctl failures', {} as Ctx);
tool.before.each((ctx) => {
  ctx.s = new StandIn();
});
tool.after.each((ctx) => ctx.s.remove());

tool(
  'no wdctl installed is HAL_UNSUPPORTED naming the tool, and the device is left unopened',
  async (ctx) => {
    const wdctl = join(ctx.s.dir, 'no-such-wdctl');
    const driver = new LinuxWatchdog({ wdctl });
    const err = await rejects(driver.open(ctx.s.device), withCode('HAL_UNSUPPORTED'));
    assert.ok(err instanceof HalError && err.message.includes(wdctl), String(err));
    assert.is(ctx.s.bytes(), '');
  },
);

tool('a wdctl that hangs deaf to SIGTERM is killed after its time limit: HAL_TIMEOUT', async (ctx) => {
  const driver = new LinuxWatchdog({ wdctl: ctx.s.hangingWdctl, wdctlTimeoutMs: 300 });
  await rejects(driver.open(ctx.s.device, { timeoutS: 5 }), withCode('HAL_TIMEOUT'));
  const pid = ctx.s.hangingPid();
  assert.ok(pid !== undefined && !alive(pid), `wdctl (pid ${pid}) is still running`);
  const retry = new LinuxWatchdog({ wdctl: ctx.s.wdctl });
  await (await retry.open(ctx.s.device)).close({ magic: true });
});

tool('aborting while wdctl runs kills it and rejects with the abort', async (ctx) => {
  const driver = new LinuxWatchdog({ wdctl: ctx.s.hangingWdctl });
  const ac = new AbortController();
  const opening = driver.open(ctx.s.device, { signal: ac.signal });
  for (let i = 0; i < 200 && ctx.s.hangingPid() === undefined; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  ac.abort();
  await rejects(opening, withCode('HAL_CANCELED'));
  const pid = ctx.s.hangingPid();
  for (let i = 0; i < 100 && pid !== undefined && alive(pid); i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.ok(pid !== undefined && !alive(pid), `wdctl (pid ${pid}) is still running`);
  assert.is(ctx.s.bytes(), '');
});

tool.run();

// ---

const real = suite<Ctx>('LinuxWatchdog with the real wdctl', {} as Ctx);
real.before.each((ctx) => {
  ctx.s = new StandIn();
  ctx.driver = new LinuxWatchdog();
});
real.after.each((ctx) => ctx.s.remove());

real('a file is not a watchdog: HAL_UNSUPPORTED, and the driver never opened it', async (ctx) => {
  const err = await rejects(ctx.driver.open(ctx.s.device, { timeoutS: 10 }), withCode('HAL_UNSUPPORTED'));
  assert.match(String(err), /not a watchdog device/);
  // wdctl's own open-and-disarm wrote its magic V; the driver wrote nothing after it.
  assert.not.match(ctx.s.bytes(), /\0/);
});

real('a missing device is HAL_NOT_FOUND', async (ctx) => {
  await rejects(ctx.driver.open(ctx.s.missing), withCode('HAL_NOT_FOUND'));
});

real('wdctl on a FIFO nobody reads hangs with signals blocked; the time limit still ends it', async (ctx) => {
  const path = join(ctx.s.dir, 'watchdog3');
  execFileSync('mkfifo', [path]);
  const driver = new LinuxWatchdog({ wdctlTimeoutMs: 300 });
  await rejects(driver.open(path, { timeoutS: 5 }), withCode('HAL_TIMEOUT'));
});

if (canRun('watchdog driver with the real wdctl', { tools: ['wdctl', 'mkfifo'] })) real.run();
