import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../../../board/sim/testbed/exec.ts';
import { addVeth, netnsExec, TestNetns } from '../../../board/sim/testbed/netns.ts';
import { NftPacketFilter } from '../../../hal/packetfilter/linux.ts';
import type { TableRef } from '../../../hal/packetfilter/types.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { canRun } from '../../support/needs.ts';
import { ChildPinger } from '../icmp/child-pinger.ts';
import { packetFilterContract, setupBatch, shape } from './contract.ts';

/**
 * nft runs in namespace "fw" (10.78.0.1 on tndfw0); namespace "peer" (10.78.0.2 on tndpeer0) sends it
 * pings, which the contract ruleset's input chain counts.
 */
async function makeNamespaces(nets: TestNetns): Promise<{ fw: string; peer: string }> {
  const fw = await nets.add('fw');
  const peer = await nets.add('peer');
  await addVeth({ ns: fw, ifname: 'tndfw0' }, { ns: peer, ifname: 'tndpeer0' });
  await netnsExec(fw, ['ip', 'addr', 'add', '10.78.0.1/24', 'dev', 'tndfw0']);
  await netnsExec(peer, ['ip', 'addr', 'add', '10.78.0.2/24', 'dev', 'tndpeer0']);
  await netnsExec(fw, ['ip', 'link', 'set', 'tndfw0', 'up']);
  await netnsExec(peer, ['ip', 'link', 'set', 'tndpeer0', 'up']);
  return { fw, peer };
}

if (canRun('nftables', { root: true, tools: ['nft', 'ip'] })) {
  const nets = new TestNetns();
  const spaces = makeNamespaces(nets);
  const T: TableRef = { family: 'inet', name: 'tnd_contract' };

  packetFilterContract('linux (nft -j, in a namespace)', async () => {
    const { fw } = await spaces;
    const pf = new NftPacketFilter({ netns: fw });
    return {
      pf,
      device: 'tndfw0',
      dispose: async () => {
        await pf.close();
        await netnsExec(fw, ['nft', 'flush', 'ruleset']);
      },
    };
  });

  packetFilterContract('linux (one nft -j -f per batch, in a namespace)', async () => {
    const { fw } = await spaces;
    const pf = new NftPacketFilter({ netns: fw, transport: 'spawn' });
    return {
      pf,
      device: 'tndfw0',
      dispose: async () => {
        await pf.close();
        await netnsExec(fw, ['nft', 'flush', 'ruleset']);
      },
    };
  });

  // ---

  const real = suite<{ fw: string; peer: string; pf: NftPacketFilter }>(
    'NftPacketFilter in a namespace',
    {} as { fw: string; peer: string; pf: NftPacketFilter },
  );

  real.before(async (ctx) => {
    Object.assign(ctx, await spaces);
    ctx.pf = new NftPacketFilter({ netns: ctx.fw });
  });
  real.after.each(async (ctx) => {
    await netnsExec(ctx.fw, ['nft', 'flush', 'ruleset']);
  });
  real.after(async (ctx) => {
    await ctx.pf?.close();
    await spaces.catch(() => undefined);
    await nets.cleanup();
  });

  real('pings through the counted rules make the counters grow', async ({ pf, peer }) => {
    await pf.apply(setupBatch);
    const pinger = await ChildPinger.start(peer);
    try {
      for (let i = 0; i < 3; i++) await pinger.ping('10.78.0.1', { timeoutMs: 2000, payloadBytes: 56 });
    } finally {
      await pinger.dispose();
    }
    const counters = await pf.counters(T);
    const seen = counters.named.find((c) => c.name === 'seen');
    const pings = counters.rules.find((c) => c.comment === 'pings');
    // Each echo request is 84 bytes of IPv4 (20 header + 8 ICMP + 56 data). `seen` counts all input,
    // IPv6 neighbour discovery included, so it is at least what the ping rule saw.
    assert.equal([pings?.packets, pings?.bytes], [3, 3 * 84], JSON.stringify(counters));
    assert.ok(seen !== undefined && seen.packets >= 3 && seen.bytes >= 3 * 84, JSON.stringify(seen));
  });

  real('the ruleset is really in the kernel: nft lists what apply wrote', async ({ pf, fw }) => {
    await pf.apply(setupBatch);
    const { stdout } = await netnsExec(fw, ['nft', 'list', 'table', 'inet', 'tnd_contract']);
    assert.match(stdout, /chain in \{/);
    assert.match(stdout, /type filter hook input priority filter; policy accept;/);
    assert.match(stdout, /counter name "seen"/);
  });

  real('nft’s own message comes through on a refused batch', async ({ pf }) => {
    await pf.apply(setupBatch);
    const err = await rejects(
      pf.apply({
        nftables: [{ delete: { chain: { family: 'inet', table: 'tnd_contract', name: 'nope' } } }],
      }),
      withCode('HAL_INVALID_ARGUMENT'),
    );
    assert.match((err as Error).message, /No such file or directory/);
    assert.equal(shape(await pf.list(T)).length, 11);
  });

  real('a missing namespace is HAL_NOT_FOUND, a bad one HAL_INVALID_ARGUMENT', async () => {
    const ghost = new NftPacketFilter({ netns: 'tnd-no-such-netns' });
    await rejects(ghost.list(T), withCode('HAL_NOT_FOUND'));
    await rejects(ghost.apply(setupBatch), withCode('HAL_NOT_FOUND'));
    await ghost.close();
    assert.throws(() => new NftPacketFilter({ netns: '../etc' }), withCode('HAL_INVALID_ARGUMENT'));
  });

  real('an abort while nft runs kills it and rejects with HAL_CANCELED', async ({ fw }) => {
    const pf = new NftPacketFilter({ netns: fw });
    const big = {
      nftables: [
        { add: { table: T } },
        { add: { set: { family: 'inet' as const, table: T.name, name: 'many', type: 'inet_service' } } },
        ...Array.from({ length: 40 }, (_, i) => ({
          add: {
            element: {
              family: 'inet' as const,
              table: T.name,
              name: 'many',
              elem: Array.from({ length: 1000 }, (_, j) => ((i * 1000 + j) % 65535) + 1),
            },
          },
        })),
      ],
    };
    const ac = new AbortController();
    const pending = pf.apply(big, { signal: ac.signal });
    // nft takes seconds over 40 000 elements: abort once it is running in the namespace.
    for (let i = 0; i < 100; i++) {
      if ((await run(['ip', 'netns', 'pids', fw])).stdout.trim() !== '') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    ac.abort();
    await rejects(pending, withCode('HAL_CANCELED'));
    // The transaction is whole or absent: either the table has every element, or there is no table.
    const listing = await pf.list(T).catch(() => undefined);
    if (listing !== undefined) {
      const set = listing.nftables.find((i) => 'set' in i);
      assert.ok(set && 'set' in set && set.set.elem?.length === 40_000);
    }
    await pf.close();
  });

  const bigMap = (n: number) => ({
    nftables: [
      { add: { table: T } },
      { add: { map: { family: 'inet' as const, table: T.name, name: 'slots', type: 'mark', map: 'mark' } } },
      {
        add: {
          element: {
            family: 'inet' as const,
            table: T.name,
            name: 'slots',
            elem: Array.from({ length: n }, (_, k) => [k, k % 3]),
          },
        },
      },
    ],
  });
  const slotValues = async (pf: NftPacketFilter): Promise<string> => {
    const m = (await pf.list(T)).nftables.find((i) => 'map' in i);
    return JSON.stringify(m && 'map' in m ? m.map.elem : undefined);
  };

  real('a refused batch of element changes leaves the whole map as it was', async ({ pf }) => {
    await pf.apply(bigMap(5000));
    const before = await slotValues(pf);
    const moved = Array.from({ length: 1000 }, (_, k) => k * 5);
    const at = { family: 'inet' as const, table: T.name };
    const err = await rejects(
      pf.apply({
        nftables: [
          { delete: { element: { ...at, name: 'slots', elem: moved } } },
          { add: { element: { ...at, name: 'slots', elem: moved.map((k) => [k, 7]) } } },
          // The kernel refuses this one: no such map. Nothing of the batch may stay.
          { add: { element: { ...at, name: 'nope', elem: [[1, 1]] } } },
        ],
      }),
      withCode('HAL_INVALID_ARGUMENT'),
    );
    assert.match((err as Error).message, /No such file or directory/);
    assert.is(await slotValues(pf), before);
    // The session is still good for the next batch.
    await pf.apply({ nftables: [{ delete: { element: { ...at, name: 'slots', elem: [0] } } }] });
    assert.is((JSON.parse(await slotValues(pf)) as unknown[]).length, 4999);
  });

  real('batches run in one long-lived session that sees what others changed', async ({ pf, fw }) => {
    await pf.apply(setupBatch);
    await netnsExec(fw, ['nft', 'add', 'chain', 'inet', 'tnd_contract', 'other']);
    for (let i = 0; i < 10; i++) {
      await pf.apply({
        nftables: [
          { add: { rule: { family: 'inet', table: T.name, chain: 'other', expr: [{ accept: null }] } } },
        ],
      });
    }
    const rules = (await pf.list(T)).nftables.filter((i) => 'rule' in i && i.rule.chain === 'other');
    assert.is(rules.length, 10);
    const pids = (await run(['ip', 'netns', 'pids', fw])).stdout.trim().split('\n').filter(Boolean);
    assert.is(pids.length, 1, `processes in the namespace: ${pids.join(' ')}`);
  });

  real.run();
}
