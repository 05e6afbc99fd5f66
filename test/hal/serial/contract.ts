import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Clock } from '../../../hal/clock/types.ts';
import { HalError } from '../../../hal/errors.ts';
import type { SerialDriver, SerialOptions, SerialPort } from '../../../hal/serial/types.ts';
import { Rng } from '../../../hal/sim/rng.ts';
import { rejects, withCode } from '../../support/assert.ts';

/** Two ports' paths joined by a cable, on one driver. */
export interface SerialBench {
  driver: SerialDriver;
  pathA: string;
  pathB: string;
  /** A path where no port exists. */
  missingPath: string;
  /** Bounds the tests' waits: real time for linux, the world's time for the sim (its bench advances it). */
  clock: Clock;
  dispose(): Promise<void>;
}

interface Ctx {
  bench: SerialBench;
  ports: SerialPort[];
}

const OPTIONS: SerialOptions = { baudRate: 115200 };
const WAIT_MS = 20_000;

/** Rejects with HAL_TIMEOUT when `promise` takes longer than `ms` on `clock`. */
async function within<T>(clock: Clock, ms: number, what: string, promise: Promise<T>): Promise<T> {
  const ac = new AbortController();
  const timeout = clock.sleep(ms, { signal: ac.signal }).then(() => {
    throw new HalError('HAL_TIMEOUT', `${what} took longer than ${ms} ms`);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    ac.abort();
    await timeout.catch(() => undefined);
  }
}

const countOf = (bytes: Uint8Array, value: number): number => bytes.filter((b) => b === value).length;

/** Reads until exactly `n` bytes have arrived (fails on more). */
async function readExactly(port: SerialPort, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  while (got < n) {
    const chunk = await port.read();
    assert.ok(chunk.length >= 1, 'a read resolves with at least one byte');
    parts.push(chunk);
    got += chunk.length;
  }
  const all = Buffer.concat(parts);
  assert.is(all.length, n, `expected ${n} bytes, got ${all.length}`);
  return all;
}

/**
 * The SerialPort contract (hal/serial/types.ts), run against any driver. `makeBench` builds a fresh
 * cable for each test; the suites close every port they open.
 */
export function serialContract(label: string, makeBench: () => Promise<SerialBench>): void {
  const open = async (ctx: Ctx, path: string, options: SerialOptions = OPTIONS): Promise<SerialPort> => {
    const port = await ctx.bench.driver.open(path, options);
    ctx.ports.push(port);
    return port;
  };
  const pair = async (ctx: Ctx): Promise<[SerialPort, SerialPort]> => [
    await open(ctx, ctx.bench.pathA),
    await open(ctx, ctx.bench.pathB),
  ];
  const wait = <T>(ctx: Ctx, what: string, p: Promise<T>): Promise<T> =>
    within(ctx.bench.clock, WAIT_MS, what, p);

  const make = (name: string) => {
    const s = suite<Ctx>(`${label}: ${name}`);
    s.before.each(async (ctx) => {
      ctx.bench = await makeBench();
      ctx.ports = [];
    });
    s.after.each(async (ctx) => {
      for (const port of ctx.ports.reverse()) await port.close().catch(() => undefined);
      await ctx.bench.dispose();
    });
    return s;
  };

  // ---

  const data = make('data');

  data('opens with the defaults resolved', async (ctx) => {
    const port = await open(ctx, ctx.bench.pathA, { baudRate: 9600 });
    assert.equal(port.options, { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 });
    assert.is(port.path, ctx.bench.pathA);
    assert.ok(port.isOpen);
  });

  data('bytes flow both ways', async (ctx) => {
    const [a, b] = await pair(ctx);
    await a.write(Buffer.from('ping'));
    assert.is((await wait(ctx, 'ping', readExactly(b, 4))).toString(), 'ping');
    await b.write(new Uint8Array([0, 255, 10, 13]));
    assert.equal([...(await wait(ctx, 'binary', readExactly(a, 4)))], [0, 255, 10, 13]);
  });

  data('a read returns at most maxBytes and the rest stays for the next read', async (ctx) => {
    const [a, b] = await pair(ctx);
    await a.write(Buffer.from('abcdef'));
    const first = await wait(ctx, 'read', b.read({ maxBytes: 2 }));
    assert.ok(first.length >= 1 && first.length <= 2, `got ${first.length} bytes`);
    const rest = await wait(ctx, 'rest', readExactly(b, 6 - first.length));
    assert.is(Buffer.concat([first, rest]).toString(), 'abcdef');
  });

  data('64 KiB arrive intact and in order', async (ctx) => {
    const [a, b] = await pair(ctx);
    const rng = new Rng(0x5e71a1);
    const payload = Buffer.from(Array.from({ length: 65536 }, () => rng.u32() & 0xff));
    const received = readExactly(b, payload.length);
    await wait(ctx, 'write 64 KiB', a.write(payload));
    await wait(ctx, 'drain', a.drain());
    const got = await wait(ctx, 'read 64 KiB', received);
    assert.ok(got.equals(payload), 'the received bytes equal the sent ones');
  });

  data('flush discards bytes received but not read', async (ctx) => {
    const [a, b] = await pair(ctx);
    await a.write(Buffer.from('stale'));
    await a.drain();
    await ctx.bench.clock.sleep(100);
    await b.flush();
    await a.write(Buffer.from('fresh'));
    assert.is((await wait(ctx, 'fresh', readExactly(b, 5))).toString(), 'fresh');
  });

  data('chunks() yields what arrives and ends when the port closes', async (ctx) => {
    const [a, b] = await pair(ctx);
    const seen: Buffer[] = [];
    let total = 0;
    let enough: () => void = () => {};
    const gotAll = new Promise<void>((resolve) => {
      enough = resolve;
    });
    const iterating = (async () => {
      for await (const chunk of b.chunks()) {
        seen.push(chunk);
        total += chunk.length;
        if (total >= 5) enough();
      }
    })();
    await a.write(Buffer.from('hello'));
    await wait(ctx, 'chunks', gotAll);
    await b.close();
    await wait(ctx, 'iteration to end', iterating);
    assert.is(Buffer.concat(seen).toString(), 'hello');
  });

  data.run();

  // ---

  const errors = make('errors');

  errors('a missing path rejects with HAL_NOT_FOUND naming it', async (ctx) => {
    const err = await rejects(
      ctx.bench.driver.open(ctx.bench.missingPath, OPTIONS),
      withCode('HAL_NOT_FOUND'),
    );
    assert.ok(err instanceof HalError && err.message.includes(ctx.bench.missingPath), String(err));
  });

  errors('bad options reject with HAL_INVALID_ARGUMENT naming the value', async (ctx) => {
    const { driver, pathA } = ctx.bench;
    const bad: [SerialOptions, string][] = [
      [{ baudRate: 12345 }, '12345'],
      [{ baudRate: 0 }, 'baudRate'],
      [{ baudRate: 9600, dataBits: 9 as 8 }, 'dataBits'],
      [{ baudRate: 9600, parity: 'mark' as 'odd' }, 'mark'],
      [{ baudRate: 9600, stopBits: 1.5 as 1 }, 'stopBits'],
    ];
    for (const [options, named] of bad) {
      const err = await rejects(driver.open(pathA, options), withCode('HAL_INVALID_ARGUMENT'));
      assert.ok(err instanceof HalError && err.message.includes(named), `${named}: ${String(err)}`);
    }
    await rejects(driver.open('', OPTIONS), withCode('HAL_INVALID_ARGUMENT'));
    // The refused opens left the port free.
    await open(ctx, pathA);
  });

  errors('opening an open port rejects with HAL_BUSY; after close it opens again', async (ctx) => {
    const a = await open(ctx, ctx.bench.pathA);
    await rejects(ctx.bench.driver.open(ctx.bench.pathA, OPTIONS), withCode('HAL_BUSY'));
    await a.close();
    await open(ctx, ctx.bench.pathA);
  });

  errors('an overlapping write or read rejects with HAL_BUSY; the first carries on', async (ctx) => {
    const [a, b] = await pair(ctx);
    const first = a.write(Buffer.from('one'));
    await rejects(a.write(Buffer.from('two')), withCode('HAL_BUSY'));
    await first;
    const reading = b.read();
    await rejects(b.read(), withCode('HAL_BUSY'));
    assert.ok((await wait(ctx, 'read', reading)).length >= 1);
  });

  errors('write refuses what is not bytes, and maxBytes must be >= 1', async (ctx) => {
    const [a, b] = await pair(ctx);
    await rejects(a.write('text' as unknown as Uint8Array), withCode('HAL_INVALID_ARGUMENT'));
    await rejects(b.read({ maxBytes: 0 }), withCode('HAL_INVALID_ARGUMENT'));
    await a.write(new Uint8Array(0));
  });

  errors('every call after close rejects with HAL_CLOSED; close again is harmless', async (ctx) => {
    const [a] = await pair(ctx);
    await a.close();
    assert.not.ok(a.isOpen);
    await rejects(a.write(Buffer.from('x')), withCode('HAL_CLOSED'));
    await rejects(a.read(), withCode('HAL_CLOSED'));
    await rejects(a.drain(), withCode('HAL_CLOSED'));
    await rejects(a.flush(), withCode('HAL_CLOSED'));
    await a.close();
  });

  errors.run();

  // ---

  const cancel = make('cancellation');

  cancel('close rejects a read in flight with HAL_CANCELED', async (ctx) => {
    const [, b] = await pair(ctx);
    const canceled = rejects(b.read(), withCode('HAL_CANCELED'));
    await b.close();
    await canceled;
  });

  cancel('close rejects a write in flight with HAL_CANCELED', async (ctx) => {
    const [a] = await pair(ctx);
    const canceled = rejects(a.write(Buffer.alloc(256 * 1024, 0x55)), withCode('HAL_CANCELED'));
    await a.close();
    await canceled;
  });

  cancel('an aborted read rejects at once and loses no bytes', async (ctx) => {
    const [a, b] = await pair(ctx);
    const ac = new AbortController();
    const reading = b.read({ signal: ac.signal });
    ac.abort();
    await rejects(reading, withCode('HAL_CANCELED'));
    await a.write(Buffer.from('after'));
    assert.is((await wait(ctx, 'after abort', readExactly(b, 5))).toString(), 'after');
  });

  cancel(
    'a write aborted mid-way rejects at once; what was taken is sent, then the next write',
    async (ctx) => {
      const [a, b] = await pair(ctx);
      const ac = new AbortController();
      // Nobody reads b yet, so the buffers along the way fill and this write has to wait.
      const writing = a.write(Buffer.alloc(1024 * 1024, 0x55), { signal: ac.signal });
      await ctx.bench.clock.sleep(50);
      ac.abort();
      await rejects(writing, withCode('HAL_CANCELED'));
      const next = a.write(Buffer.from('done'));
      const parts: Buffer[] = [];
      for (let tail = ''; !tail.endsWith('done'); ) {
        const chunk = await wait(ctx, 'the next write', b.read());
        parts.push(chunk);
        tail = (tail + chunk.toString('latin1')).slice(-4);
      }
      await wait(ctx, 'write', next);
      const all = Buffer.concat(parts);
      assert.ok(all.length < 1024 * 1024 + 4, `the aborted write stopped (${all.length} bytes arrived)`);
      assert.is(countOf(all.subarray(0, -4), 0x55), all.length - 4, 'only the aborted write came before');
    },
  );

  cancel('an already aborted signal rejects before doing anything; an Error reason is kept', async (ctx) => {
    const [a, b] = await pair(ctx);
    const reason = new Error('supervisor stopping');
    const ac = new AbortController();
    ac.abort(reason);
    await rejects(b.read({ signal: ac.signal }), (e) => e === reason);
    await rejects(a.write(Buffer.from('x'), { signal: ac.signal }), (e) => e === reason);
    await rejects(a.drain({ signal: ac.signal }), (e) => e === reason);
    // The refused write sent nothing: the next bytes b reads are the next write's.
    await a.write(Buffer.from('y'));
    assert.is((await wait(ctx, 'y', readExactly(b, 1))).toString(), 'y');
  });

  cancel('a read aborted while waiting rejects with the reason and frees the read slot', async (ctx) => {
    const [, b] = await pair(ctx);
    const ac = new AbortController();
    const reading = b.read({ signal: ac.signal });
    const reason = new HalError('HAL_TIMEOUT', 'heartbeat deadline');
    ac.abort(reason);
    await rejects(reading, (e) => e === reason);
    const again = new AbortController();
    const second = b.read({ signal: again.signal });
    again.abort();
    await rejects(second, withCode('HAL_CANCELED'));
  });

  cancel.run();
}
