import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimClock } from '../../../hal/clock/sim.ts';
import { HalError } from '../../../hal/errors.ts';
import { SimNetwork } from '../../../hal/net/sim.ts';
import type { LinkEvent } from '../../../hal/net/types.ts';
import { Rng } from '../../../hal/sim/rng.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { type NetHarness, netContract } from './contract.ts';

/** Runs `clock` until `p` settles; fails when nothing is left to run within `limitMs` of sim time. */
async function settleOn<T>(clock: SimClock, p: Promise<T>, limitMs = 60_000): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; err: unknown } | undefined;
  p.then(
    (value) => {
      outcome = { ok: true, value };
    },
    (err: unknown) => {
      outcome = { ok: false, err };
    },
  );
  const deadline = clock.worldNow() + limitMs;
  for (;;) {
    await SimClock.flush();
    if (outcome !== undefined) break;
    const due = clock.nextDue();
    if (due === undefined || due > deadline) throw new Error(`still pending after ${limitMs} ms of sim time`);
    clock.runNext();
  }
  if (!outcome.ok) throw outcome.err;
  return outcome.value;
}

/** Three hosts on bridge 'lan' with the contract's addresses. */
function lanWorld(options: { arpLoss?: number; seed?: number; arpAccept?: boolean } = {}) {
  const clock = new SimClock();
  const net = new SimNetwork({
    clock,
    ...(options.seed === undefined ? {} : { rng: new Rng(options.seed) }),
    ...(options.arpLoss === undefined ? {} : { arpLoss: options.arpLoss }),
    ...(options.arpAccept === undefined ? {} : { arpAccept: options.arpAccept }),
  });
  net.addSegment('lan');
  const a = net.addNode('a');
  const b = net.addNode('b');
  const client = net.addNode('client');
  net.connect('a', 'lan', 'eth0');
  net.connect('b', 'lan', 'eth0');
  net.connect('client', 'lan', 'br0');
  return { clock, net, a, b, client };
}

netContract('sim', async () => {
  const { clock, net, a, b, client } = lanWorld();
  await a.addAddress('eth0', '10.77.0.1/24');
  await b.addAddress('eth0', '10.77.0.2/24');
  await client.addAddress('br0', '10.77.0.100/24');
  const harness: NetHarness = {
    drivers: { a, b, client },
    links: { a: 'eth0', b: 'eth0', client: 'br0' },
    resolveFrom: async (host, ip) => {
      net.resolve(host, host === 'client' ? 'br0' : 'eth0', ip);
    },
    cut: async () => net.cut('a', 'eth0'),
    restore: async () => net.restore('a', 'eth0'),
    settle: (p, limitMs) => settleOn(clock, p, limitMs),
    wait: async (ms) => {
      clock.advance(ms);
      await SimClock.flush();
    },
    close: async () => {
      await Promise.all([a.close(), b.close(), client.close()]);
    },
  };
  return harness;
});

// ---

const frames = suite('sim: frames on the wire');

frames('request and reply forms carry the fields arping -U and -A send, on the clock', async () => {
  const { clock, net, a } = lanWorld();
  await a.addAddress('eth0', '10.77.0.60/24');
  const mac = (await a.links()).find((l) => l.name === 'eth0')?.mac ?? '';
  clock.advance(1000);
  await settleOn(clock, a.announce('eth0', '10.77.0.60', { form: 'request', count: 3, intervalMs: 200 }));
  await settleOn(clock, a.announce('eth0', '10.77.0.60', { form: 'reply', count: 1 }));
  const seen = net.frames('lan');
  assert.equal(
    seen.map((f) => [f.at, f.op, f.ethDst, f.senderIp, f.targetIp, f.senderMac, f.targetMac, f.from]),
    [
      [1000, 'request', 'ff:ff:ff:ff:ff:ff', '10.77.0.60', '10.77.0.60', mac, 'ff:ff:ff:ff:ff:ff', 'a/eth0'],
      [1200, 'request', 'ff:ff:ff:ff:ff:ff', '10.77.0.60', '10.77.0.60', mac, 'ff:ff:ff:ff:ff:ff', 'a/eth0'],
      [1400, 'request', 'ff:ff:ff:ff:ff:ff', '10.77.0.60', '10.77.0.60', mac, 'ff:ff:ff:ff:ff:ff', 'a/eth0'],
      [1400, 'reply', 'ff:ff:ff:ff:ff:ff', '10.77.0.60', '10.77.0.60', mac, mac, 'a/eth0'],
    ],
  );
  assert.is(clock.pendingTimers(), 0);
});

frames('arpLoss drops frames deterministically for a seed; the burst still counts them sent', async () => {
  const lostPattern = async (seed: number) => {
    const { clock, net, a } = lanWorld({ arpLoss: 0.5, seed });
    await a.addAddress('eth0', '10.77.0.61/24');
    const r = await settleOn(clock, a.announce('eth0', '10.77.0.61', { count: 20, intervalMs: 10 }));
    assert.equal(r, { sent: 20 });
    return net.frames('lan').map((f) => f.lost);
  };
  const first = await lostPattern(7);
  assert.equal(await lostPattern(7), first);
  assert.ok(first.some((l) => l) && first.some((l) => !l), `pattern ${first.join(',')}`);
  assert.throws(
    () => new SimNetwork({ clock: new SimClock(), arpLoss: 0.5 }),
    (e: unknown) => HalError.is(e, 'HAL_INVALID_ARGUMENT'),
  );
});

frames.run();

// ---

const arp = suite('sim: ARP caches');

arp('gratuitous ARP updates only existing entries unless arpAccept', async () => {
  for (const arpAccept of [false, true]) {
    const { clock, a, client } = lanWorld({ arpAccept });
    await a.addAddress('eth0', '10.77.0.62/24');
    await settleOn(clock, a.announce('eth0', '10.77.0.62'));
    const learned = (await client.neighbours()).find((n) => n.ip === '10.77.0.62');
    assert.is(learned !== undefined, arpAccept, `arpAccept ${arpAccept}`);
    if (learned) assert.is(learned.state, 'stale');
  }
});

arp('split brain: with the VIP on both, the first answer wins a resolve', async () => {
  const { net, a, b, client } = lanWorld();
  await client.addAddress('br0', '10.77.0.100/24');
  await a.addAddress('eth0', '10.77.0.63/24');
  await b.addAddress('eth0', '10.77.0.63/24');
  const macA = (await a.links()).find((l) => l.name === 'eth0')?.mac;
  assert.is(net.resolve('client', 'br0', '10.77.0.63'), macA);
  const entry = (await client.neighbours('br0')).find((n) => n.ip === '10.77.0.63');
  assert.equal([entry?.mac, entry?.state], [macA, 'reachable']);
  const learnedByA = (await a.neighbours('eth0')).find((n) => n.ip === '10.77.0.100');
  assert.is(learnedByA?.state, 'stale', 'the asked host learns the asker');
  assert.is(net.resolve('client', 'br0', '10.77.0.99'), undefined);
  assert.is((await client.neighbours('br0')).find((n) => n.ip === '10.77.0.99')?.state, 'failed');
});

arp.run();

// ---

const world = suite('sim: world hooks');

world('a cable drops carrier on both ends when either end goes down or it is cut', async () => {
  const net = new SimNetwork({ clock: new SimClock() });
  net.addSegment('xover', 'cable');
  const a = net.addNode('a');
  const b = net.addNode('b');
  net.connect('a', 'xover', 'hb0');
  net.connect('b', 'xover', 'hb0');
  const carrier = async () =>
    [a, b].map(async (n) => (await n.links()).find((l) => l.name === 'hb0')?.carrier);
  assert.equal(await Promise.all(await carrier()), [true, true]);
  const watch = await a.watchLinks();
  await b.setLinkUp('hb0', false);
  assert.equal(await Promise.all(await carrier()), [false, false]);
  const first = await watch.next();
  assert.is(first.value?.kind, 'carrier-down');
  await b.setLinkUp('hb0', true);
  net.cut('b', 'hb0');
  assert.equal(await Promise.all(await carrier()), [false, false]);
  net.restore('b', 'hb0');
  assert.equal(await Promise.all(await carrier()), [true, true]);
  assert.throws(
    () => net.connect(net.addNode('c').name, 'xover', 'hb0'),
    (e: unknown) => HalError.is(e, 'HAL_INVALID_ARGUMENT'),
  );
  await watch.close();
});

world('connect and disconnect report added and removed', async () => {
  const { net, a } = lanWorld();
  const watch = await a.watchLinks();
  net.connect('a', 'lan', 'eth1', { mtu: 9000, mac: '02:AA:00:00:00:01' });
  net.disconnect('a', 'eth1');
  const seen: LinkEvent[] = [];
  for (let i = 0; i < 2; i++) {
    const r = await watch.next();
    if (!r.done) seen.push(r.value);
  }
  assert.equal(
    seen.map((e) => [e.kind, e.link.name, e.link.mtu, e.link.mac]),
    [
      ['added', 'eth1', 9000, '02:aa:00:00:00:01'],
      ['removed', 'eth1', 9000, '02:aa:00:00:00:01'],
    ],
  );
  await watch.close();
});

world('hooks name what they cannot find; two worlds share nothing', async () => {
  const first = lanWorld();
  const second = lanWorld();
  assert.throws(
    () => first.net.cut('nobody', 'eth0'),
    (e: unknown) => HalError.is(e, 'HAL_NOT_FOUND'),
  );
  assert.throws(
    () => first.net.frames('wan'),
    (e: unknown) => HalError.is(e, 'HAL_NOT_FOUND'),
  );
  await first.a.addAddress('eth0', '10.1.0.1/24');
  assert.not.ok((await second.a.addresses()).some((x) => x.address === '10.1.0.1'));
  const macs = async (w: ReturnType<typeof lanWorld>) => (await w.a.links()).map((l) => l.mac);
  assert.equal(await macs(first), await macs(second), 'same construction, same MACs');
});

world('a watch holds at most 1024 unread events, then fails with HAL_IO', async () => {
  const { net, a } = lanWorld();
  const watch = await a.watchLinks();
  for (let i = 0; i < 520; i++) {
    net.cut('a', 'eth0');
    net.restore('a', 'eth0');
  }
  let read = 0;
  const err = await rejects(
    (async () => {
      for (;;) {
        const r = await watch.next();
        if (r.done) return;
        read++;
      }
    })(),
    withCode('HAL_IO'),
  );
  assert.ok(err instanceof HalError);
  assert.is(read, 1025);
});

world.run();
