import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimClock } from '../../../hal/clock/sim.ts';
import { HalError } from '../../../hal/errors.ts';
import { SimSerialCable, type SimSerialCableOptions, SimSerialDriver } from '../../../hal/serial/sim.ts';
import type { SerialOptions, SerialPort } from '../../../hal/serial/types.ts';
import { Rng } from '../../../hal/sim/rng.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { serialContract } from './contract.ts';

/** Runs the world's timers whenever the test is idle, so contract code can await as on real hardware. */
function autoAdvance(clock: SimClock): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      await SimClock.flush();
      if (!clock.runNext()) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

serialContract('SimSerialDriver', async () => {
  const clock = new SimClock();
  const cable = new SimSerialCable({ clock, rng: new Rng(1) });
  const driver = new SimSerialDriver();
  driver.attach('/dev/ttySIM0', cable.a);
  driver.attach('/dev/ttySIM1', cable.b);
  const stop = autoAdvance(clock);
  return {
    driver,
    pathA: '/dev/ttySIM0',
    pathB: '/dev/ttySIM1',
    missingPath: '/dev/ttySIM9',
    clock,
    dispose: stop,
  };
});

// --- Fault and timing tests drive the clock by hand.

interface World {
  clock: SimClock;
  cable: SimSerialCable;
  a: SerialPort;
  b: SerialPort;
}

async function world(
  seed: number,
  cableOptions: Partial<SimSerialCableOptions> = {},
  options: { a?: SerialOptions; b?: SerialOptions } = {},
): Promise<World> {
  const clock = new SimClock();
  const cable = new SimSerialCable({ clock, rng: new Rng(seed), rxBufferBytes: 1 << 20, ...cableOptions });
  const driver = new SimSerialDriver();
  driver.attach('/dev/ttyS0', cable.a);
  driver.attach('/dev/ttyS1', cable.b);
  const a = await driver.open('/dev/ttyS0', options.a ?? { baudRate: 115200 });
  const b = await driver.open('/dev/ttyS1', options.b ?? { baudRate: 115200 });
  return { clock, cable, a, b };
}

/** Everything b has received so far, without waiting. */
async function received(w: World): Promise<Buffer> {
  return w.cable.b.rx.length === 0 ? Buffer.alloc(0) : w.b.read({ maxBytes: 1 << 20 });
}

/** Writes `bytes` from a and runs the world until they are all off the wire and landed. */
async function send(w: World, bytes: Uint8Array): Promise<void> {
  const writing = w.a.write(bytes);
  const draining = w.a.drain();
  let done = false;
  void draining.then(() => {
    done = true;
  });
  for (;;) {
    await SimClock.flush();
    if (done) break;
    assert.ok(w.clock.runNext(), 'the world went idle before the write drained');
  }
  await writing;
  while (w.clock.runNext()) await SimClock.flush();
}

const countOf = (bytes: Uint8Array, value: number): number => bytes.filter((b) => b === value).length;

// ---

const timing = suite('SimSerialCable byte timing');

timing('96 bytes at 9600 8N1 (10 bits each) take 100 ms to cross', async () => {
  const w = await world(1, {}, { a: { baudRate: 9600 }, b: { baudRate: 9600 } });
  void w.a.write(Buffer.alloc(96, 0x41));
  let drained = false;
  void w.a.drain().then(() => {
    drained = true;
  });
  w.clock.advance(98.9);
  await SimClock.flush();
  assert.is(w.cable.stats('ab').delivered, 94);
  assert.not.ok(drained);
  w.clock.advance(1.1);
  await SimClock.flush();
  assert.is(w.cable.stats('ab').delivered, 96);
  assert.ok(drained, 'drain resolves when the last stop bit has gone');
  assert.is((await received(w)).length, 96);
});

timing('7E2 frames are 11 bits: 100 bytes at 1200 baud take 916.7 ms', async () => {
  const opts: SerialOptions = { baudRate: 1200, dataBits: 7, parity: 'even', stopBits: 2 };
  const w = await world(1, {}, { a: opts, b: opts });
  void w.a.write(Buffer.alloc(100, 0xff));
  w.clock.advance(916);
  assert.is(w.cable.stats('ab').delivered, 99);
  w.clock.advance(1);
  assert.is(w.cable.stats('ab').delivered, 100);
  const got = await received(w);
  assert.is(countOf(got, 0x7f), 100, 'seven data bits: the top bit never crosses');
});

timing('at 115200 baud bytes land in batches no later than tickMs after their time', async () => {
  const w = await world(1);
  void w.a.write(Buffer.alloc(64, 1));
  const wire = (64 * 10 * 1000) / 115200;
  w.clock.advance(wire - 0.1);
  assert.ok(w.cable.stats('ab').delivered < 64);
  w.clock.advance(1.1);
  assert.is(w.cable.stats('ab').delivered, 64);
});

timing('write resolves once its bytes fit the transmit buffer; drain when they are sent', async () => {
  const w = await world(1, { txBufferBytes: 100 }, { a: { baudRate: 9600 }, b: { baudRate: 9600 } });
  let wrote = false;
  void w.a.write(Buffer.alloc(300, 2)).then(() => {
    wrote = true;
  });
  for (let i = 0; i < 190; i++) {
    w.clock.runNext();
    await SimClock.flush();
  }
  assert.not.ok(wrote, 'after 190 bytes left, 110 remain: more than the buffer holds');
  for (let i = 0; i < 20; i++) {
    w.clock.runNext();
    await SimClock.flush();
  }
  assert.ok(wrote);
});

timing.run();

// ---

const faults = suite('SimSerialCable faults');

faults('per-byte loss drops about lossRate of the bytes and counts them (seed 7)', async () => {
  const w = await world(7, { faults: { lossRate: 0.1 } });
  await send(w, Buffer.alloc(10_000, 3));
  const stats = w.cable.stats('ab');
  const got = await received(w);
  assert.is(stats.sent, 10_000);
  assert.is(stats.lost + stats.delivered, 10_000);
  assert.ok(stats.lost > 850 && stats.lost < 1150, `lost ${stats.lost}`);
  assert.is(got.length, stats.delivered);
});

faults('chunk loss drops whole writes together (seed 11)', async () => {
  const w = await world(11);
  w.cable.setFaults({ chunkLossRate: 0.5 }, 'ab');
  for (let i = 0; i < 100; i++) await send(w, Buffer.alloc(10, i));
  const got = await received(w);
  const present = [...new Set(got)];
  for (const value of present) assert.is(countOf(got, value), 10, `write ${value} arrived whole`);
  assert.ok(present.length > 30 && present.length < 70, `${present.length} of 100 writes arrived`);
  assert.is(w.cable.stats('ab').lost, (100 - present.length) * 10);
});

faults('corruption flips exactly one bit in about corruptRate of the bytes (seed 3)', async () => {
  const w = await world(3, { faults: { corruptRate: 0.05 } });
  await send(w, Buffer.alloc(5000, 0));
  const got = await received(w);
  const flipped = got.filter((b) => b !== 0);
  assert.is(got.length, 5000);
  assert.is(flipped.length, w.cable.stats('ab').corrupted);
  assert.ok(flipped.length > 180 && flipped.length < 320, `${flipped.length} corrupted`);
  for (const b of flipped) assert.is(b & (b - 1), 0, `0x${b.toString(16)} has one bit set`);
});

faults('a fixed delay holds every byte back by exactly minDelayMs', async () => {
  const w = await world(1, { faults: { minDelayMs: 20 } }, { a: { baudRate: 9600 }, b: { baudRate: 9600 } });
  await w.a.write(Buffer.from('x'));
  const byteMs = 10_000 / 9600;
  w.clock.advance(byteMs + 19.9);
  assert.is(w.cable.stats('ab').delivered, 0);
  w.clock.advance(0.2);
  assert.is(w.cable.stats('ab').delivered, 1);
});

faults('random delay: at least the minimum, about the mean, and never reordering (seed 5)', async () => {
  const w = await world(5, { faults: { minDelayMs: 5, meanDelayMs: 50 } });
  const byteMs = 10_000 / 115200;
  const latencies: number[] = [];
  for (let i = 0; i < 200; i++) {
    const before = w.cable.stats('ab').delivered;
    const sentAt = w.clock.now();
    await w.a.write(Buffer.from([i]));
    while (w.cable.stats('ab').delivered === before) assert.ok(w.clock.runNext(), 'the byte is due');
    latencies.push(w.clock.now() - sentAt - byteMs);
    w.clock.advance(1000);
  }
  const mean = latencies.reduce((x, y) => x + y, 0) / latencies.length;
  assert.ok(Math.min(...latencies) >= 5 - 1e-6, `min ${Math.min(...latencies)}`);
  assert.ok(mean > 40 && mean < 60, `mean ${mean}`);
  await SimClock.flush();
  assert.equal(
    [...(await received(w))],
    Array.from({ length: 200 }, (_, i) => i),
  );

  // Back to back, later writes drawing shorter delays still land after earlier ones.
  for (let i = 0; i < 50; i++) {
    await w.a.write(Buffer.from([i]));
    w.clock.advance(0.1);
  }
  w.clock.advance(2000);
  await SimClock.flush();
  assert.equal(
    [...(await received(w))],
    Array.from({ length: 50 }, (_, i) => i),
  );
});

faults('cut loses bytes sent and bytes on the wire; restore heals; one way stays one way', async () => {
  const w = await world(1, { faults: { minDelayMs: 50 } });
  w.cable.cut();
  await send(w, Buffer.from('lost'));
  assert.is(w.cable.stats('ab').cut, 4);
  w.cable.restore();
  await w.a.write(Buffer.from('wire'));
  w.clock.advance(10);
  w.cable.cut();
  w.cable.restore();
  w.clock.advance(100);
  assert.is(w.cable.stats('ab').cut, 8, 'cut while on the wire');
  await send(w, Buffer.from('back'));
  assert.is((await received(w)).toString(), 'back');

  w.cable.cut('ab');
  assert.ok(w.cable.isCut('ab') && !w.cable.isCut('ba'));
  await send(w, Buffer.from('gone'));
  await w.b.write(Buffer.from('heard'));
  w.clock.advance(100);
  await SimClock.flush();
  assert.is((await w.a.read()).toString(), 'heard');
  assert.is(w.cable.stats('ab').delivered, 4);
});

faults('mismatched baud rates garble every byte (seed 9)', async () => {
  const w = await world(9, {}, { a: { baudRate: 9600 }, b: { baudRate: 19200 } });
  await send(w, Buffer.from('hello, peer'));
  assert.is(w.cable.stats('ab').garbled, 11);
  assert.is.not((await received(w)).toString('latin1'), 'hello, peer');
});

faults('nobody reading overruns the receive buffer; a closed port hears nothing', async () => {
  const w = await world(1, { rxBufferBytes: 4096 });
  await send(w, Buffer.alloc(5000, 4));
  assert.is(w.cable.stats('ab').overrun, 904);
  assert.is((await received(w)).length, 4096);
  await w.b.close();
  await send(w, Buffer.from('anyone?'));
  assert.is(w.cable.stats('ab').unheard, 7);
});

faults('the same seed replays the same faults (seed 42)', async () => {
  const run = async (): Promise<string> => {
    const w = await world(42, {
      faults: { lossRate: 0.05, corruptRate: 0.05, minDelayMs: 1, meanDelayMs: 9 },
    });
    for (let i = 0; i < 20; i++) await send(w, Buffer.alloc(50, i));
    return JSON.stringify({ stats: w.cable.stats('ab'), got: [...(await received(w))], now: w.clock.now() });
  };
  assert.is(await run(), await run());
});

faults('fault settings are validated', async () => {
  const w = await world(1);
  assert.throws(
    () => w.cable.setFaults({ lossRate: 1.5 }),
    (e: unknown) => HalError.is(e, 'HAL_INVALID_ARGUMENT') && e.message.includes('lossRate'),
  );
  assert.throws(
    () => w.cable.setFaults({ minDelayMs: -1 }),
    (e: unknown) => HalError.is(e, 'HAL_INVALID_ARGUMENT'),
  );
  assert.throws(
    () => new SimSerialCable({ clock: w.clock, rng: new Rng(1), txBufferBytes: 0 }),
    (e: unknown) => HalError.is(e, 'HAL_INVALID_ARGUMENT'),
  );
  assert.equal(w.cable.faults('ba').lossRate, 0);
});

faults.run();

// ---

const driver = suite('SimSerialDriver');

driver('list() names the attached paths; inject() lands bytes as received', async () => {
  const clock = new SimClock();
  const cable = new SimSerialCable({ clock, rng: new Rng(1) });
  const d = new SimSerialDriver();
  d.attach('/dev/ttyS1', cable.b);
  d.attach('/dev/ttyS0', cable.a);
  assert.equal(
    (await d.list()).map((p) => p.path),
    ['/dev/ttyS0', '/dev/ttyS1'],
  );
  const a = await d.open('/dev/ttyS0', { baudRate: 9600 });
  cable.inject('a', Buffer.from('login: '));
  assert.is((await a.read()).toString(), 'login: ');
  await a.close();
});

driver('two machines share one cable, each with its own driver and path', async () => {
  const clock = new SimClock();
  const cable = new SimSerialCable({ clock, rng: new Rng(2) });
  const boxA = new SimSerialDriver();
  const boxB = new SimSerialDriver();
  boxA.attach('/dev/ttyS1', cable.a);
  boxB.attach('/dev/ttyS1', cable.b);
  const a = await boxA.open('/dev/ttyS1', { baudRate: 115200 });
  const b = await boxB.open('/dev/ttyS1', { baudRate: 115200 });
  const reading = b.read();
  await a.write(Buffer.from('hb'));
  clock.advance(5);
  assert.is((await reading).toString(), 'hb');
  assert.throws(
    () => boxB.attach('/dev/ttyS2', cable.a),
    (e: unknown) => HalError.is(e, 'HAL_INVALID_ARGUMENT'),
  );
  await a.close();
  await b.close();
});

driver('flush drops bytes still in the transmit buffer', async () => {
  const w = await world(1, {}, { a: { baudRate: 9600 }, b: { baudRate: 9600 } });
  void w.a.write(Buffer.alloc(100, 5));
  w.clock.advance(10.5);
  await w.a.flush();
  await w.a.drain();
  w.clock.advance(1000);
  assert.is(w.cable.stats('ab').sent, 10);
  await rejects(w.a.write(Buffer.from('x'), { signal: AbortSignal.abort() }), withCode('HAL_CANCELED'));
});

driver.run();
