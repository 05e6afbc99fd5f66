import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimClock } from '../../../hal/clock/sim.ts';
import { SimPinger } from '../../../hal/icmp/sim.ts';
import { Rng } from '../../../hal/sim/rng.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { pingerContract } from './contract.ts';

/** Runs the clock until `p` settles; fails instead of hanging when nothing is left to run. */
async function settleOn<T>(clock: SimClock, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (;;) {
    await SimClock.flush();
    if (done) return p;
    if (!clock.runNext()) break;
  }
  await SimClock.flush();
  if (!done) throw new Error('the promise is still pending and no timer is armed');
  return p;
}

function world(seed: number) {
  const clock = new SimClock();
  const pinger = new SimPinger({ clock, rng: new Rng(seed) });
  return { clock, pinger };
}

pingerContract('sim', async () => {
  const { clock, pinger } = world(7);
  const live = ['10.1.0.2', '10.1.0.3', '10.1.0.4'];
  for (const address of live) pinger.setUp(address, { rttMs: 2, jitterMs: 1 });
  pinger.setUp('fd00::2', { rttMs: 3 });
  pinger.setDown('10.1.0.9');
  pinger.setNoRoute('10.200.0.1');
  return {
    pinger,
    live,
    live6: 'fd00::2',
    silent: '10.1.0.9',
    noRoute: '10.200.0.1',
    settle: (p) => settleOn(clock, p),
    stats: async () => pinger.stats(),
    dispose: () => pinger.close(),
  };
});

// ---

const behaviour = suite('SimPinger host behaviour');

behaviour('the RTT is the configured one on the world clock, and the TTL is the host’s', async () => {
  const { clock, pinger } = world(1);
  pinger.setUp('10.0.0.5', { rttMs: 12.5, ttl: 61 });
  const start = clock.now();
  const reply = await settleOn(clock, pinger.ping('10.0.0.5', { timeoutMs: 100 }));
  assert.equal(reply, { rttMs: 12.5, ttl: 61 });
  assert.is(clock.now() - start, 12.5);
});

behaviour('jitter keeps RTTs within rttMs ± jitterMs', async () => {
  const { clock, pinger } = world(2);
  pinger.setUp('10.0.0.5', { rttMs: 10, jitterMs: 4 });
  const replies = await settleOn(
    clock,
    Promise.all(Array.from({ length: 100 }, () => pinger.ping('10.0.0.5', { timeoutMs: 100 }))),
  );
  const rtts = replies.map((r) => r.rttMs);
  assert.ok(Math.min(...rtts) >= 6 && Math.max(...rtts) <= 14, `${Math.min(...rtts)}..${Math.max(...rtts)}`);
  assert.ok(new Set(rtts).size > 50);
});

behaviour('loss is drawn from the seeded Rng: the same seed loses the same pings', async () => {
  const lostWith = async (seed: number): Promise<string> => {
    const { clock, pinger } = world(seed);
    pinger.setUp('10.0.0.5', { loss: 0.3 });
    const outcomes = await settleOn(
      clock,
      Promise.allSettled(Array.from({ length: 400 }, () => pinger.ping('10.0.0.5', { timeoutMs: 50 }))),
    );
    return outcomes.map((o) => (o.status === 'fulfilled' ? '.' : 'x')).join('');
  };
  const first = await lostWith(99);
  assert.is(await lostWith(99), first);
  const lost = first.split('x').length - 1;
  assert.ok(lost > 80 && lost < 160, `lost ${lost} of 400`);
  assert.is.not(await lostWith(100), first);
});

behaviour('a reply later than the timeout is counted as unmatched', async () => {
  const { clock, pinger } = world(3);
  pinger.setUp('10.0.0.5', { rttMs: 50 });
  await rejects(settleOn(clock, pinger.ping('10.0.0.5', { timeoutMs: 20 })), withCode('HAL_TIMEOUT'));
  clock.advance(100);
  assert.is(pinger.stats().ignored.unmatched, 1);
});

behaviour('a host can go down and come back; unknown addresses are silent', async () => {
  const { clock, pinger } = world(4);
  pinger.setUp('10.0.0.5');
  await settleOn(clock, pinger.ping('10.0.0.5', { timeoutMs: 20 }));
  pinger.setDown('10.0.0.5');
  await rejects(settleOn(clock, pinger.ping('10.0.0.5', { timeoutMs: 20 })), withCode('HAL_TIMEOUT'));
  pinger.setUp('10.0.0.5');
  await settleOn(clock, pinger.ping('10.0.0.5', { timeoutMs: 20 }));
  await rejects(settleOn(clock, pinger.ping('10.0.0.77', { timeoutMs: 20 })), withCode('HAL_TIMEOUT'));
});

behaviour('IPv6 addresses are matched in canonical form', async () => {
  const { clock, pinger } = world(5);
  pinger.setUp('FD00:0:0::0002');
  await settleOn(clock, pinger.ping('fd00::2', { timeoutMs: 20 }));
});

behaviour('bad host settings are refused with HAL_INVALID_ARGUMENT', () => {
  const { pinger } = world(6);
  assert.throws(() => pinger.setUp('nope'), withCode('HAL_INVALID_ARGUMENT'));
  assert.throws(() => pinger.setUp('10.0.0.5', { loss: 1.5 }), withCode('HAL_INVALID_ARGUMENT'));
  assert.throws(() => pinger.setUp('10.0.0.5', { rttMs: -1 }), withCode('HAL_INVALID_ARGUMENT'));
  assert.throws(() => pinger.setUp('10.0.0.5', { ttl: 256 }), withCode('HAL_INVALID_ARGUMENT'));
  assert.throws(() => pinger.setDown('10.0.0.256'), withCode('HAL_INVALID_ARGUMENT'));
});

behaviour.run();

// ---

const ownership = suite('SimPinger ownership');

ownership('close() leaves no timer armed on the world clock', async () => {
  const { clock, pinger } = world(8);
  pinger.setUp('10.0.0.5', { rttMs: 30 });
  const pending = Promise.allSettled([
    pinger.ping('10.0.0.5', { timeoutMs: 100 }),
    pinger.ping('10.0.0.6', { timeoutMs: 100 }),
  ]);
  assert.is(clock.pendingTimers(), 3);
  await pinger.close();
  await pending;
  assert.is(clock.pendingTimers(), 0);
});

ownership(
  'an abort reason that is an Error is passed through, and the timeout timer is released',
  async () => {
    const { clock, pinger } = world(9);
    const ac = new AbortController();
    const reason = new Error('monitor stopping');
    const pending = pinger.ping('10.0.0.5', { timeoutMs: 100, signal: ac.signal });
    ac.abort(reason);
    await rejects(pending, (e) => e === reason);
    assert.is(clock.pendingTimers(), 0);
  },
);

ownership('two pingers in one world share nothing but the clock', async () => {
  const clock = new SimClock();
  const a = new SimPinger({ clock, rng: new Rng(1), identifier: 1 });
  const b = new SimPinger({ clock, rng: new Rng(2), identifier: 2 });
  a.setUp('10.0.0.5');
  await settleOn(clock, a.ping('10.0.0.5', { timeoutMs: 10 }));
  await rejects(settleOn(clock, b.ping('10.0.0.5', { timeoutMs: 10 })), withCode('HAL_TIMEOUT'));
  assert.equal(
    [a.stats().identifier, a.stats().replies, b.stats().identifier, b.stats().replies],
    [1, 1, 2, 0],
  );
});

ownership.run();
