/**
 * The watchdog contract (hal/watchdog/types.ts) as uvu suites, run against every driver: the sim, the Linux
 * driver on a file standing in for the device, and the Linux driver on a kernel watchdog. Every handle is
 * closed with the magic close: on a real device a plain close would reset the machine running the tests.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HalError } from '../../../hal/errors.ts';
import type { WatchdogDriver, WatchdogHandle } from '../../../hal/watchdog/types.ts';
import { rejects, withCode } from '../../support/assert.ts';

export interface WatchdogHarness {
  driver: WatchdogDriver;
  /** A watchdog device the driver can open. */
  device: string;
  /** A path where no device exists. */
  missing: string;
  /** A timeout the driver's checks pass but the device refuses. */
  tooLargeTimeoutS: number;
  close(): Promise<void>;
}

interface Ctx {
  h: WatchdogHarness;
  handles: WatchdogHandle[];
  open(timeoutS?: number): Promise<WatchdogHandle>;
}

export function watchdogContract(label: string, makeHarness: () => Promise<WatchdogHarness>): void {
  const make = (name: string) => {
    const s = suite<Ctx>(`${label}: ${name}`, {} as Ctx);
    s.before.each(async (ctx) => {
      ctx.h = await makeHarness();
      ctx.handles = [];
      ctx.open = async (timeoutS) => {
        const handle = await ctx.h.driver.open(ctx.h.device, timeoutS === undefined ? {} : { timeoutS });
        ctx.handles.push(handle);
        return handle;
      };
    });
    s.after.each(async (ctx) => {
      for (const handle of ctx.handles) if (handle.isOpen) await handle.close({ magic: true });
      await ctx.h.close();
    });
    return s;
  };

  // ---

  const opening = make('open');

  opening('arms with the requested timeout and names the device', async (ctx) => {
    const wd = await ctx.open(7);
    assert.is(wd.device, ctx.h.device);
    assert.is(wd.timeoutS, 7);
    assert.ok(wd.isOpen);
    await wd.keepAlive();
    await wd.close({ magic: true });
    assert.not.ok(wd.isOpen);
  });

  opening('without timeoutS the device keeps the timeout it was last given', async (ctx) => {
    const first = await ctx.open(9);
    await first.close({ magic: true });
    const again = await ctx.open();
    assert.is(again.timeoutS, 9);
  });

  opening('a missing device is HAL_NOT_FOUND naming the path', async (ctx) => {
    const err = await rejects(ctx.h.driver.open(ctx.h.missing), withCode('HAL_NOT_FOUND'));
    assert.ok(err instanceof HalError && err.message.includes(ctx.h.missing), String(err));
  });

  opening('a second open is HAL_BUSY until the first handle closes', async (ctx) => {
    const wd = await ctx.open(10);
    await rejects(ctx.h.driver.open(ctx.h.device), withCode('HAL_BUSY'));
    await wd.close({ magic: true });
    const again = await ctx.open();
    assert.ok(again.isOpen);
  });

  opening('bad timeouts and devices are HAL_INVALID_ARGUMENT and hold nothing', async (ctx) => {
    for (const timeoutS of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 5e9]) {
      await rejects(ctx.h.driver.open(ctx.h.device, { timeoutS }), withCode('HAL_INVALID_ARGUMENT'));
    }
    await rejects(ctx.h.driver.open(''), withCode('HAL_INVALID_ARGUMENT'));
    const err = await rejects(
      ctx.h.driver.open(ctx.h.device, { timeoutS: ctx.h.tooLargeTimeoutS }),
      withCode('HAL_INVALID_ARGUMENT'),
    );
    assert.ok(err instanceof HalError && err.message.includes(String(ctx.h.tooLargeTimeoutS)), String(err));
    const wd = await ctx.open(10);
    assert.ok(wd.isOpen);
  });

  opening('an aborted signal rejects with HAL_CANCELED and holds nothing', async (ctx) => {
    const ac = new AbortController();
    ac.abort();
    await rejects(ctx.h.driver.open(ctx.h.device, { signal: ac.signal }), withCode('HAL_CANCELED'));
    const wd = await ctx.open(10);
    assert.ok(wd.isOpen);
  });

  opening.run();

  // ---

  const handles = make('handle');

  handles('keep-alives in a burst then a magic close all resolve', async (ctx) => {
    const wd = await ctx.open(10);
    await Promise.all([wd.keepAlive(), wd.keepAlive(), wd.keepAlive(), wd.close({ magic: true })]);
    assert.not.ok(wd.isOpen);
  });

  handles('every call after close is HAL_CLOSED, a second close too', async (ctx) => {
    const wd = await ctx.open(10);
    await wd.close({ magic: true });
    await rejects(wd.keepAlive(), withCode('HAL_CLOSED'));
    await rejects(wd.close({ magic: true }), withCode('HAL_CLOSED'));
  });

  handles('close() without saying magic or not is HAL_INVALID_ARGUMENT and closes nothing', async (ctx) => {
    const wd = await ctx.open(10);
    // @ts-expect-error: the contract makes every caller choose
    await rejects(wd.close(), withCode('HAL_INVALID_ARGUMENT'));
    // @ts-expect-error: magic must be a boolean
    await rejects(wd.close({ magic: 'yes' }), withCode('HAL_INVALID_ARGUMENT'));
    assert.ok(wd.isOpen);
    await wd.keepAlive();
  });

  handles.run();
}
