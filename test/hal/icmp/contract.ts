import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HalError } from '../../../hal/errors.ts';
import type { Pinger, PingReply } from '../../../hal/icmp/types.ts';
import { rejects, withCode } from '../../support/assert.ts';

/** A pinger and the addresses around it, as each driver's test sets them up. */
export interface PingWorld {
  pinger: Pinger;
  /** IPv4 addresses that answer (at least three, on one host or several). */
  live: readonly string[];
  /** An IPv6 address that answers, when the world has one. */
  live6?: string;
  /** An address on a reachable network that never answers. */
  silent: string;
  /** An address the pinger has no route to. */
  noRoute: string;
  /** Resolves when `p` settles (the sim advances its clock until it does; real drivers just wait). */
  settle<T>(p: Promise<T>): Promise<T>;
  /** The counters, as fresh as the driver can give them. */
  stats(): Promise<ReturnType<Pinger['stats']>>;
  /** Tears the world down. */
  dispose(): Promise<void>;
}

/** The Pinger contract (hal/icmp/types.ts), run against both drivers. */
export function pingerContract(name: string, make: () => Promise<PingWorld>): void {
  const contract = suite<{ world: PingWorld }>(`Pinger contract: ${name}`, {} as { world: PingWorld });

  contract.before.each(async (ctx) => {
    ctx.world = await make();
  });
  contract.after.each(async (ctx) => {
    await ctx.world.dispose();
  });

  contract('a live address answers with a plausible RTT and TTL', async ({ world }) => {
    const reply = await world.settle(world.pinger.ping(world.live[0] as string, { timeoutMs: 2000 }));
    assertPlausible(reply, 2000);
    assert.ok(reply.ttl !== undefined && Number.isInteger(reply.ttl) && reply.ttl >= 1 && reply.ttl <= 255);
    const stats = await world.stats();
    assert.is(stats.replies, 1);
    assert.ok(stats.identifier >= 0 && stats.identifier <= 0xffff);
  });

  contract('an IPv6 address answers, without a TTL', async ({ world }) => {
    if (world.live6 === undefined) return;
    const reply = await world.settle(world.pinger.ping(world.live6, { timeoutMs: 2000 }));
    assertPlausible(reply, 2000);
    assert.is(reply.ttl, undefined);
  });

  contract('a silent address times out with HAL_TIMEOUT', async ({ world }) => {
    const err = await rejects(
      world.settle(world.pinger.ping(world.silent, { timeoutMs: 200 })),
      withCode('HAL_TIMEOUT'),
    );
    assert.match((err as Error).message, world.silent);
    assert.is((await world.stats()).timeouts, 1);
  });

  contract('an address with no route fails with HAL_IO', async ({ world }) => {
    await rejects(world.settle(world.pinger.ping(world.noRoute, { timeoutMs: 1000 })), withCode('HAL_IO'));
    assert.is((await world.stats()).sendErrors, 1);
  });

  contract(
    'bad addresses and options are refused with HAL_INVALID_ARGUMENT naming them',
    async ({ world }) => {
      const live = world.live[0] as string;
      const bad: [string, number, number | undefined][] = [
        ['not-an-address', 1000, undefined],
        ['10.0.0.256', 1000, undefined],
        ['010.0.0.1', 1000, undefined],
        ['', 1000, undefined],
        ['0.0.0.0', 1000, undefined],
        ['255.255.255.255', 1000, undefined],
        ['224.0.0.1', 1000, undefined],
        ['::', 1000, undefined],
        ['ff02::1', 1000, undefined],
        ['fe80::1%eth0', 1000, undefined],
        ['::ffff:10.0.0.1', 1000, undefined],
        [live, 0, undefined],
        [live, -5, undefined],
        [live, Number.NaN, undefined],
        [live, 1_000_000, undefined],
        [live, 1000, -1],
        [live, 1000, 1.5],
        [live, 1000, 70_000],
      ];
      for (const [address, timeoutMs, payloadBytes] of bad) {
        const options = payloadBytes === undefined ? { timeoutMs } : { timeoutMs, payloadBytes };
        const err = await rejects(world.pinger.ping(address, options), withCode('HAL_INVALID_ARGUMENT'));
        assert.ok((err as Error).message.includes(JSON.stringify(address)), (err as Error).message);
      }
      assert.is((await world.stats()).sent, 0);
    },
  );

  contract('200 concurrent pings to several addresses are each answered and matched', async ({ world }) => {
    const targets = Array.from({ length: 200 }, (_, i) =>
      i % 40 === 39 ? world.silent : (world.live[i % world.live.length] as string),
    );
    const outcomes = await world.settle(
      Promise.allSettled(
        targets.map((address, i) => world.pinger.ping(address, { timeoutMs: 1500, payloadBytes: i })),
      ),
    );
    outcomes.forEach((outcome, i) => {
      if (targets[i] === world.silent) {
        assert.is(outcome.status, 'rejected', `ping ${i} to the silent address`);
        assert.ok(outcome.status === 'rejected' && HalError.is(outcome.reason, 'HAL_TIMEOUT'));
      } else {
        assert.is(outcome.status, 'fulfilled', `ping ${i} to ${targets[i]}: ${JSON.stringify(outcome)}`);
        if (outcome.status === 'fulfilled') assertPlausible(outcome.value, 1500);
      }
    });
    const stats = await world.stats();
    assert.is(stats.replies, 195);
    assert.is(stats.timeouts, 5);
    assert.is(stats.ignored.unmatched + stats.ignored['payload-mismatch'], 0);
  });

  contract('payloads of 0 and 1400 bytes are echoed', async ({ world }) => {
    const live = world.live[1] as string;
    for (const payloadBytes of [0, 1400]) {
      assertPlausible(await world.settle(world.pinger.ping(live, { timeoutMs: 2000, payloadBytes })), 2000);
    }
  });

  contract('an AbortSignal cancels with HAL_CANCELED, before or during the ping', async ({ world }) => {
    const early = new AbortController();
    early.abort();
    await rejects(
      world.pinger.ping(world.live[0] as string, { timeoutMs: 1000, signal: early.signal }),
      withCode('HAL_CANCELED'),
    );
    const late = new AbortController();
    const pending = world.pinger.ping(world.silent, { timeoutMs: 5000, signal: late.signal });
    late.abort();
    await rejects(world.settle(pending), withCode('HAL_CANCELED'));
    const stats = await world.stats();
    assert.is(stats.canceled, 1);
    assert.is(stats.timeouts, 0);
  });

  contract('close() cancels pings in flight; later pings get HAL_CLOSED', async ({ world }) => {
    const pending = [0, 1, 2].map(() => world.pinger.ping(world.silent, { timeoutMs: 5000 }));
    const settled = Promise.allSettled(pending);
    await world.stats();
    await world.pinger.close();
    for (const outcome of await world.settle(settled)) {
      assert.ok(outcome.status === 'rejected' && HalError.is(outcome.reason, 'HAL_CANCELED'));
    }
    await world.pinger.close();
    await rejects(world.pinger.ping(world.live[0] as string, { timeoutMs: 1000 }), withCode('HAL_CLOSED'));
    assert.is((await world.stats()).canceled, 3);
  });

  contract.run();
}

function assertPlausible(reply: PingReply, timeoutMs: number): void {
  assert.type(reply.rttMs, 'number');
  assert.ok(reply.rttMs >= 0 && reply.rttMs < timeoutMs, `rtt ${reply.rttMs} ms`);
}
