import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveTakeoverConfig } from '../../firmware/takeover/config.ts';
import { TakeoverError } from '../../firmware/takeover/errors.ts';
import { startTakeover } from '../../firmware/takeover/service.ts';
import type { Takeover, TakeoverConfigInput } from '../../firmware/takeover/types.ts';
import { SimClock } from '../../hal/clock/sim.ts';
import { SimNetwork } from '../../hal/net/sim.ts';
import { rejects } from '../support/assert.ts';

/**
 * The takeover reconciler on the simulated L2 world: director `a` with client0 (bridge `client`) and
 * server0 (bridge `server`), a client and a real server that watch the frames.
 */
const VIP = '192.0.2.100/24';
const GATEWAY = '198.51.100.1/24';

interface World {
  clock: SimClock;
  net: SimNetwork;
  a: ReturnType<SimNetwork['addNode']>;
  takeover: Takeover;
  logs: string[];
}

async function world(config: Partial<TakeoverConfigInput> = {}): Promise<World> {
  const clock = new SimClock();
  const net = new SimNetwork({ clock });
  net.addSegment('client');
  net.addSegment('server');
  const a = net.addNode('a');
  const client = net.addNode('client');
  const rs = net.addNode('rs');
  net.connect('a', 'client', 'client0');
  net.connect('a', 'server', 'server0');
  net.connect('client', 'client', 'eth0');
  net.connect('rs', 'server', 'eth0');
  await a.addAddress('client0', '192.0.2.2/24');
  await a.addAddress('server0', '198.51.100.2/24');
  await client.addAddress('eth0', '192.0.2.10/24');
  await rs.addAddress('eth0', '198.51.100.11/24');
  const logs: string[] = [];
  const takeover = startTakeover({
    net: a,
    clock,
    config: {
      addresses: [
        { link: 'client0', cidr: VIP },
        { link: 'server0', cidr: GATEWAY },
      ],
      garp: { count: 3, intervalMs: 100 },
      ...config,
    },
    log: (level, message) => logs.push(`${level} ${message}`),
  });
  return { clock, net, a, takeover, logs };
}

/** Lets promise callbacks and due timers run, advancing simulated time by `ms`. */
async function run(clock: SimClock, ms: number): Promise<void> {
  const until = clock.worldNow() + ms;
  for (;;) {
    await SimClock.flush();
    const due = clock.nextDue();
    if (due === undefined || due > until) break;
    clock.runNext();
  }
  clock.advanceTo(until);
  await SimClock.flush();
}

/** Settles `p` while running the clock (the sim driver's calls may wait on timers). */
async function settle<T>(clock: SimClock, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < 1000 && !done; i++) await run(clock, 1);
  return p;
}

async function ours(w: World): Promise<string[]> {
  return (await w.a.addresses())
    .filter((x) => x.address === '192.0.2.100' || x.address === '198.51.100.1' || x.label?.endsWith(':vip'))
    .map((x) => `${x.link} ${x.cidr} ${x.label ?? '-'}`)
    .sort();
}

const garps = (w: World, segment: string, ip: string) =>
  w.net.frames(segment).filter((f) => f.senderIp === ip && f.targetIp === ip);

// ---------------------------------------------------------------------------------------------------

const acquire = suite('takeover: acquire and release');

acquire('acquire brings both addresses up with the label and bursts both forms on each link', async () => {
  const w = await world();
  await settle(w.clock, w.takeover.acquire(7));
  assert.equal(await ours(w), ['client0 192.0.2.100/24 client0:vip', 'server0 198.51.100.1/24 server0:vip']);
  await run(w.clock, 1000);
  const client = garps(w, 'client', '192.0.2.100');
  assert.is(client.filter((f) => f.op === 'request').length, 3);
  assert.is(client.filter((f) => f.op === 'reply').length, 3);
  assert.is(garps(w, 'server', '198.51.100.1').length, 6);
  const first = client[0];
  assert.ok(first !== undefined && first.at < 1 && first.op === 'request', 'the first frame leaves at once');
  const firstServer = garps(w, 'server', '198.51.100.1')[0];
  assert.ok(
    firstServer !== undefined && firstServer.at >= 40,
    'the gateway is announced after the VIP (stagger)',
  );
  const s = w.takeover.status();
  assert.is(s.desired, 'held');
  assert.ok(s.converged);
  assert.is(s.bursts.started, 4);
  assert.is(s.bursts.framesSent, 12);
  assert.is(s.lastAcquire?.epoch, 7);
  await w.takeover.close();
});

acquire('release removes the addresses and stops the bursts in flight', async () => {
  const w = await world();
  await settle(w.clock, w.takeover.acquire(1));
  await run(w.clock, 150);
  await settle(w.clock, w.takeover.release());
  const sentBefore = w.net.frames('client').length;
  await run(w.clock, 1000);
  assert.is(w.net.frames('client').length, sentBefore, 'no frame after the release');
  assert.equal(await ours(w), []);
  assert.is(w.takeover.status().desired, 'released');
  await w.takeover.close();
});

acquire('acquire and release are idempotent', async () => {
  const w = await world();
  await settle(w.clock, w.takeover.acquire(1));
  await settle(w.clock, w.takeover.acquire(1));
  assert.equal((await ours(w)).length, 2);
  await settle(w.clock, w.takeover.release());
  await settle(w.clock, w.takeover.release());
  assert.equal(await ours(w), []);
  await w.takeover.close();
});

acquire('announce sends a new burst while held and nothing while released', async () => {
  const w = await world();
  w.takeover.announce();
  await run(w.clock, 1000);
  assert.is(w.net.frames('client').length, 0);
  await settle(w.clock, w.takeover.acquire(1));
  await run(w.clock, 1000);
  const before = garps(w, 'client', '192.0.2.100').length;
  w.takeover.announce();
  await run(w.clock, 1000);
  assert.is(garps(w, 'client', '192.0.2.100').length - before, 6);
  await w.takeover.close();
});

acquire.run();

// ---

const reconcile = suite('takeover: reconcile and refresh');

reconcile('reconcile at start removes what a crash left, labelled leftovers included', async () => {
  const w = await world();
  await w.a.addAddress('client0', VIP, { label: 'client0:vip' });
  await w.a.addAddress('server0', GATEWAY);
  await w.a.addAddress('client0', '192.0.2.200/24', { label: 'client0:vip' }); // an older configuration's VIP
  await w.a.addAddress('client0', '192.0.2.50/24'); // not ours
  await settle(w.clock, w.takeover.reconcile());
  assert.equal(await ours(w), []);
  assert.ok(
    (await w.a.addresses('client0')).some((x) => x.address === '192.0.2.50'),
    'others stay',
  );
  await settle(w.clock, w.takeover.reconcile());
  assert.ok(w.takeover.status().converged);
  await w.takeover.close();
});

reconcile('a stale labelled address goes while held, too (after the takeover, off its path)', async () => {
  const w = await world();
  await w.a.addAddress('client0', '192.0.2.200/24', { label: 'client0:vip' });
  await settle(w.clock, w.takeover.acquire(1));
  await run(w.clock, 1100);
  assert.equal(await ours(w), ['client0 192.0.2.100/24 client0:vip', 'server0 198.51.100.1/24 server0:vip']);
  await w.takeover.close();
});

reconcile('refresh re-announces every refreshMs while held, and stops on release', async () => {
  const w = await world({ refreshMs: 1000 });
  await settle(w.clock, w.takeover.acquire(1));
  await run(w.clock, 500);
  const afterBurst = garps(w, 'client', '192.0.2.100').length;
  await run(w.clock, 1000);
  assert.is(garps(w, 'client', '192.0.2.100').length - afterBurst, 2, 'one frame per form');
  await run(w.clock, 1000);
  assert.is(garps(w, 'client', '192.0.2.100').length - afterBurst, 4);
  await settle(w.clock, w.takeover.release());
  const released = w.net.frames('client').length;
  await run(w.clock, 3000);
  assert.is(w.net.frames('client').length, released);
  await w.takeover.close();
});

reconcile('a failed add rejects, is retried, and converges once the link exists', async () => {
  const w = await world({ addresses: [{ link: 'client1', cidr: VIP }], retryMs: 200 });
  const err = await rejects(settle(w.clock, w.takeover.acquire(1)), TakeoverError);
  assert.is((err as TakeoverError).code, 'TAKEOVER_RECONCILE_FAILED');
  assert.not.ok(w.takeover.status().converged);
  w.net.connect('a', 'client', 'client1');
  await run(w.clock, 300);
  assert.ok(w.takeover.status().converged, 'converged after the retry');
  assert.ok((await w.a.addresses('client1')).some((x) => x.address === '192.0.2.100'));
  await run(w.clock, 1000);
  assert.ok(
    garps(w, 'client', '192.0.2.100').length > 0,
    `announced after the late add: ${w.logs.join('; ')} ${JSON.stringify(w.takeover.status())}`,
  );
  await w.takeover.close();
});

reconcile.run();

// ---

const config = suite('takeover: configuration and close');

config('bad configuration names the field and the value', () => {
  const bad = (input: unknown, pattern: RegExp): void => {
    assert.throws(
      () => resolveTakeoverConfig(input as TakeoverConfigInput),
      (e: unknown) =>
        e instanceof TakeoverError && e.code === 'TAKEOVER_INVALID_CONFIG' && pattern.test(e.message),
    );
  };
  bad(
    { addresses: [{ link: 'client0', cidr: '192.0.2.300/24' }] },
    /addresses\[0\]\.cidr "192\.0\.2\.300\/24"/,
  );
  bad({ addresses: [{ link: 'a:b', cidr: VIP }] }, /addresses\[0\]\.link/);
  bad(
    {
      addresses: [
        { link: 'client0', cidr: VIP },
        { link: 'server0', cidr: '192.0.2.100/32' },
      ],
    },
    /duplicate/,
  );
  bad({ addresses: [], garp: { forms: ['shout'] } }, /garp\.forms/);
  bad({ addresses: [], garp: { count: 0 } }, /garp\.count should be an integer from 1 to 100, instead got 0/);
  bad({ addresses: 'x' }, /addresses/);
  assert.equal(resolveTakeoverConfig({ addresses: [] }).garp.forms, ['request', 'reply']);
});

config('after close every change rejects with TAKEOVER_CLOSED and the addresses stay', async () => {
  const w = await world();
  await settle(w.clock, w.takeover.acquire(1));
  await w.takeover.close();
  await w.takeover.close();
  const err = await rejects(w.takeover.acquire(2), TakeoverError);
  assert.is((err as TakeoverError).code, 'TAKEOVER_CLOSED');
  await rejects(w.takeover.release(), (e) => TakeoverError.is(e, 'TAKEOVER_CLOSED'));
  assert.equal((await ours(w)).length, 2);
});

config.run();
