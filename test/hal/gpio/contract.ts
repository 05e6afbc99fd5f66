/**
 * The GPIO contract (hal/gpio/types.ts) as uvu suites, run against every driver: the sim, the Linux
 * driver on a fake library, and the Linux driver on a kernel chip. A harness gives the chip (laid out as
 * CONTRACT_LINES) and what the outside world does to its pins.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HalError } from '../../../hal/errors.ts';
import type {
  EdgeEvent,
  GpioChip,
  GpioDriver,
  GpioLine,
  Level,
  LineRequest,
} from '../../../hal/gpio/types.ts';
import { rejects, withCode } from '../../support/assert.ts';

/** The line names of the chip every harness provides (8 lines, the last three unnamed). */
export const CONTRACT_LINES: readonly (string | undefined)[] = [
  'led-power',
  'led-fault',
  'btn-failover',
  'btn-reset',
  'peer-fence',
  undefined,
  undefined,
  undefined,
];

export interface GpioHarness {
  driver: GpioDriver;
  /** The name the chip is opened by; `chipName` is its kernel name. */
  chip: string;
  chipName: string;
  /** Another name the same chip answers to (its /dev path). */
  chipAlias: string;
  /** The outside world drives a pin to a physical level. */
  drive(offset: number, level: Level): Promise<void>;
  /** A pin's physical level. */
  level(offset: number): Promise<Level>;
  /** Lets `ms` of the driver's time pass (the sim advances its clock; a real chip waits). */
  wait(ms: number): Promise<void>;
  /** The driver clock's now(). */
  now(): number;
  close(): Promise<void>;
}

interface Ctx {
  h: GpioHarness;
  chip: GpioChip;
}

const isCode = (code: string) => (e: unknown) => HalError.is(e) && e.code === code;

/** Registers and runs the contract suites; `label` names the driver in suite names. */
export function gpioContract(label: string, makeHarness: () => Promise<GpioHarness>): void {
  const make = (name: string) => {
    const s = suite<Ctx>(`${label}: ${name}`, {} as Ctx);
    s.before.each(async (ctx) => {
      ctx.h = await makeHarness();
      ctx.chip = await ctx.h.driver.openChip(ctx.h.chip);
    });
    s.after.each(async (ctx) => {
      await ctx.chip.close();
      await ctx.h.close();
    });
    return s;
  };
  const out = (line: number | string, extra: Partial<LineRequest> = {}): LineRequest => ({
    line,
    consumer: 'contract',
    direction: 'output',
    ...extra,
  });
  const inp = (line: number | string, extra: Partial<LineRequest> = {}): LineRequest => ({
    line,
    consumer: 'contract',
    direction: 'input',
    ...extra,
  });

  // ---

  const chips = make('chips');

  chips('openChip gives the kernel name, line count and line names', ({ h, chip }) => {
    assert.is(chip.name, h.chipName);
    assert.is(chip.lineCount, CONTRACT_LINES.length);
    assert.equal([...chip.lineNames], [...CONTRACT_LINES]);
  });

  chips('the same chip opens by another name', async ({ h }) => {
    const again = await h.driver.openChip(h.chipAlias);
    assert.is(again.name, h.chipName);
    await again.close();
  });

  chips(
    'an unknown chip is HAL_NOT_FOUND naming it; an empty name is HAL_INVALID_ARGUMENT',
    async ({ h }) => {
      const err = await rejects(h.driver.openChip('gpiochip-tnd-nowhere'), withCode('HAL_NOT_FOUND'));
      assert.ok(err instanceof HalError && err.message.includes('gpiochip-tnd-nowhere'), String(err));
      await rejects(h.driver.openChip(''), withCode('HAL_INVALID_ARGUMENT'));
    },
  );

  chips.run();

  // ---

  const outputs = make('outputs');

  outputs('an output starts at its initial value and follows set()', async ({ h, chip }) => {
    const led = await chip.request(out(0, { initial: 1 }));
    assert.is(await h.level(0), 1);
    assert.is(led.get(), 1);
    led.set(0);
    assert.is(await h.level(0), 0);
    assert.is(led.get(), 0);
    assert.equal(led.config, {
      consumer: 'contract',
      direction: 'output',
      initial: 1,
      activeLow: false,
      bias: 'as-is',
      edge: 'none',
      debounceMs: 0,
    });
  });

  outputs('a line is found by name', async ({ h, chip }) => {
    const fence = await chip.request(out('peer-fence'));
    assert.is(fence.offset, 4);
    assert.is(fence.name, 'peer-fence');
    assert.is(fence.chip, h.chipName);
    fence.set(1);
    assert.is(await h.level(4), 1);
  });

  outputs('an active-low output drives the pin low for 1', async ({ h, chip }) => {
    const led = await chip.request(out(1, { activeLow: true, initial: 0 }));
    assert.is(await h.level(1), 1);
    led.set(1);
    assert.is(await h.level(1), 0);
    assert.is(led.get(), 1);
  });

  outputs('set() on an input or with a value other than 0/1 is HAL_INVALID_ARGUMENT', async ({ chip }) => {
    const btn = await chip.request(inp(2));
    assert.throws(() => btn.set(1), isCode('HAL_INVALID_ARGUMENT'));
    const led = await chip.request(out(0));
    // @ts-expect-error: 2 is not a Level
    assert.throws(() => led.set(2), isCode('HAL_INVALID_ARGUMENT'));
  });

  outputs.run();

  // ---

  const inputs = make('inputs');

  inputs('an input reads the pin; active-low inverts it', async ({ h, chip }) => {
    await h.drive(2, 1);
    await h.drive(3, 1);
    const plain = await chip.request(inp(2));
    const inverted = await chip.request(inp(3, { activeLow: true }));
    assert.is(plain.get(), 1);
    assert.is(inverted.get(), 0);
    await h.drive(2, 0);
    await h.drive(3, 0);
    await h.wait(10);
    assert.is(plain.get(), 0);
    assert.is(inverted.get(), 1);
  });

  inputs(
    'unknown lines are HAL_NOT_FOUND naming them; malformed requests HAL_INVALID_ARGUMENT',
    async ({ chip }) => {
      const byName = await rejects(chip.request(inp('no-such-line')), withCode('HAL_NOT_FOUND'));
      assert.match(String(byName), 'no-such-line');
      const byOffset = await rejects(chip.request(inp(99)), withCode('HAL_NOT_FOUND'));
      assert.match(String(byOffset), '99');
      await rejects(chip.request(inp(-1)), withCode('HAL_INVALID_ARGUMENT'));
      await rejects(chip.request(inp(1.5)), withCode('HAL_INVALID_ARGUMENT'));
      const cases: [string, Partial<LineRequest>][] = [
        ['consumer', { consumer: '' }],
        ['consumer', { consumer: 'x'.repeat(32) }],
        ['edge', { direction: 'output', edge: 'both' }],
        ['debounceMs', { debounceMs: -5 }],
        ['initial', { initial: 1 }],
        ['edge', { edge: 'sideways' as 'both' }],
        ['direction', { direction: 'sideways' as 'input' }],
      ];
      for (const [field, extra] of cases) {
        const err = await rejects(chip.request(inp(2, extra)), withCode('HAL_INVALID_ARGUMENT'));
        assert.match(String(err), field);
      }
    },
  );

  inputs.run();

  // ---

  const owning = make('ownership');

  owning(
    'a held line is HAL_BUSY through this and another handle, free again after close',
    async ({ h, chip }) => {
      const led = await chip.request(out(0));
      await rejects(chip.request(out(0, { consumer: 'other' })), withCode('HAL_BUSY'));
      const second = await h.driver.openChip(h.chip);
      await rejects(second.request(out('led-power', { consumer: 'other' })), withCode('HAL_BUSY'));
      await led.close();
      const again = await second.request(out(0, { consumer: 'other', initial: 1 }));
      assert.is(await h.level(0), 1);
      await second.close();
      assert.not.ok(again.isOpen);
    },
  );

  owning('a closed line refuses get/set with HAL_CLOSED; close() is idempotent', async ({ chip }) => {
    const led = await chip.request(out(0));
    const closing = led.close();
    assert.is(led.close(), closing);
    await closing;
    assert.not.ok(led.isOpen);
    assert.throws(() => led.get(), isCode('HAL_CLOSED'));
    assert.throws(() => led.set(1), isCode('HAL_CLOSED'));
  });

  owning('closing the chip handle releases its lines and refuses new requests', async ({ h, chip }) => {
    const a = await chip.request(out(0));
    const b = await chip.request(inp(2));
    await chip.close();
    assert.not.ok(a.isOpen);
    assert.not.ok(b.isOpen);
    await rejects(chip.request(out(0)), withCode('HAL_CLOSED'));
    const other = await h.driver.openChip(h.chip);
    await other.request(out(0));
    await other.request(inp(2));
    await other.close();
  });

  owning.run();

  // ---

  const edges = make('edges');

  const collect = (line: GpioLine): EdgeEvent[] => {
    const seen: EdgeEvent[] = [];
    line.onEdge((e) => seen.push(e));
    return seen;
  };

  edges('both edges arrive in order with monotonic timestamps', async ({ h, chip }) => {
    const btn = await chip.request(inp('btn-failover', { edge: 'both' }));
    const seen = collect(btn);
    const t0 = h.now();
    await h.drive(2, 1);
    await h.wait(10);
    const t1 = h.now();
    await h.drive(2, 0);
    await h.wait(10);
    assert.equal(
      seen.map((e) => [e.offset, e.edge, e.value]),
      [
        [2, 'rising', 1],
        [2, 'falling', 0],
      ],
    );
    const [rise, fall] = seen as [EdgeEvent, EdgeEvent];
    assert.ok(t0 <= rise.timestampMs && rise.timestampMs <= t1, `rising at ${rise.timestampMs}`);
    assert.ok(t1 <= fall.timestampMs && fall.timestampMs <= h.now(), `falling at ${fall.timestampMs}`);
  });

  edges('the edge filter passes only the requested kind; active-low flips the kind', async ({ h, chip }) => {
    const rising = await chip.request(inp(2, { edge: 'rising' }));
    const falling = await chip.request(inp(3, { edge: 'falling', activeLow: true }));
    const up = collect(rising);
    const down = collect(falling);
    for (const level of [1, 0, 1, 0] as const) {
      await h.drive(2, level);
      await h.drive(3, level);
      await h.wait(10);
    }
    assert.equal(
      up.map((e) => e.edge),
      ['rising', 'rising'],
    );
    // On an active-low line the pin going high is a logical fall.
    assert.equal(
      down.map((e) => e.edge),
      ['falling', 'falling'],
    );
  });

  edges('a line without edge detection refuses onEdge() and edges()', async ({ chip }) => {
    const btn = await chip.request(inp(2));
    assert.throws(() => btn.onEdge(() => {}), isCode('HAL_INVALID_ARGUMENT'));
    assert.throws(() => btn.edges(), isCode('HAL_INVALID_ARGUMENT'));
  });

  edges('an unsubscribed listener hears nothing more', async ({ h, chip }) => {
    const btn = await chip.request(inp(2, { edge: 'both' }));
    const seen: EdgeEvent[] = [];
    const off = btn.onEdge((e) => seen.push(e));
    await h.drive(2, 1);
    await h.wait(10);
    off();
    await h.drive(2, 0);
    await h.wait(10);
    assert.is(seen.length, 1);
  });

  edges('edges() buffers from the call, ends on close, throws on abort', async ({ h, chip }) => {
    const btn = await chip.request(inp(2, { edge: 'both' }));
    const it = btn.edges();
    await h.drive(2, 1);
    await h.wait(10);
    await h.drive(2, 0);
    await h.wait(10);
    assert.is((await it.next()).value?.edge, 'rising');
    assert.is((await it.next()).value?.edge, 'falling');
    const pending = it.next();
    await btn.close();
    assert.ok((await pending).done);

    const other = await chip.request(inp(3, { edge: 'both' }));
    const ac = new AbortController();
    const aborted = other.edges({ signal: ac.signal });
    const waiting = aborted.next();
    ac.abort();
    await rejects(waiting, withCode('HAL_CANCELED'));
    await rejects(other.edges({ signal: ac.signal }).next(), withCode('HAL_CANCELED'));
  });

  edges('for await ... of stops cleanly on break', async ({ h, chip }) => {
    const btn = await chip.request(inp(2, { edge: 'rising' }));
    const got: Level[] = [];
    const loop = (async () => {
      for await (const e of btn.edges()) {
        got.push(e.value);
        break;
      }
    })();
    await h.drive(2, 1);
    await h.wait(10);
    await loop;
    assert.equal(got, [1]);
  });

  edges.run();

  // ---

  const debounce = make('debounce');

  debounce('a bouncing press gives one edge once it has held steady', async ({ h, chip }) => {
    const btn = await chip.request(inp('btn-reset', { edge: 'both', debounceMs: 20 }));
    const seen = collect(btn);
    for (const level of [1, 0, 1, 0, 1] as const) {
      await h.drive(3, level);
      await h.wait(3);
    }
    assert.is(seen.length, 0, 'nothing while bouncing');
    assert.is(btn.get(), 0, 'get() is debounced too');
    await h.wait(40);
    assert.equal(
      seen.map((e) => e.edge),
      ['rising'],
    );
    assert.is(btn.get(), 1);
  });

  debounce('a glitch shorter than the debounce period is ignored', async ({ h, chip }) => {
    const btn = await chip.request(inp(3, { edge: 'both', debounceMs: 30 }));
    const seen = collect(btn);
    await h.drive(3, 1);
    await h.wait(8);
    await h.drive(3, 0);
    await h.wait(50);
    assert.is(seen.length, 0);
    assert.is(btn.get(), 0);
  });

  debounce.run();
}
