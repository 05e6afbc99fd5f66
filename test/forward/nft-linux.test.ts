import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addVeth, netnsExec, TestNetns } from '../../board/sim/testbed/netns.ts';
import { parseDesired } from '../../firmware/forward/model.ts';
import { NftForwardingPlane } from '../../firmware/forward/nft/plane.ts';
import { NftPacketFilter } from '../../hal/packetfilter/linux.ts';
import { SimPacketFilter } from '../../hal/packetfilter/sim.ts';
import type { TableRef } from '../../hal/packetfilter/types.ts';
import { canRun } from '../support/needs.ts';
import { desired, dr, nat, normalised, RecordingFilter } from './support.ts';

/**
 * The same change sequences as reconciler.test.ts, on the kernel: incremental batches in namespace
 * "inc" must end where a fresh apply in namespace "new" does, and the kernel must accept every batch
 * (the simulated filter is only as strict as what its authors measured).
 */
const TABLES: TableRef[] = [
  { family: 'netdev', name: 'tandem_dr' },
  { family: 'netdev', name: 'tandem_dr_slots' },
  { family: 'inet', name: 'tandem_nat' },
  { family: 'inet', name: 'tandem_nat_slots' },
];
const DR = TABLES[0] as TableRef;

async function listAll(pf: NftPacketFilter): Promise<(string[] | undefined)[]> {
  return Promise.all(TABLES.map((t) => normalised(pf, t)));
}
const LINKS = { clientLink: 'tndfc0', serverLink: 'tndfs0' };

async function withLinks(nets: TestNetns, short: string): Promise<string> {
  const ns = await nets.add(short);
  await addVeth({ ns, ifname: 'tndfc0' }, { ns, ifname: 'tndfc1' });
  await addVeth({ ns, ifname: 'tndfs0' }, { ns, ifname: 'tndfs1' });
  for (const dev of ['tndfc0', 'tndfc1', 'tndfs0', 'tndfs1'])
    await netnsExec(ns, ['ip', 'link', 'set', dev, 'up']);
  return ns;
}

if (canRun('forwarding on nftables', { root: true, tools: ['nft', 'ip'] })) {
  const nets = new TestNetns();
  const spaces = (async () => ({
    inc: await withLinks(nets, 'finc'),
    fresh: await withLinks(nets, 'fnew'),
  }))();

  const kernel = suite('nftables data plane in a namespace');

  kernel.after(async () => {
    await spaces.catch(() => undefined);
    await nets.cleanup();
  });

  kernel('every change sequence is accepted and ends where a fresh apply does', async () => {
    const { inc, fresh } = await spaces;
    const pf = new RecordingFilter(new NftPacketFilter({ netns: inc }));
    const plane = new NftForwardingPlane(pf, LINKS);
    const steps = [
      desired([dr('web', 80, 3, { slots: 251 }), nat('app', 8080, 3, { slots: 257 })]),
      desired([dr('web', 80, 2, { slots: 251 }), nat('app', 8080, 4, { slots: 257 })]),
      desired([
        dr('web', 80, 4, { slots: 251, scheduler: 'wrr' }),
        nat('app', 8080, 1, { slots: 257, persistence: 300 }),
      ]),
      desired([dr('web', 80, 4, { slots: 251 }), dr('dns', 53, 2, { slots: 7, protocol: 'udp' })]),
      desired([dr('web', 80, 4, { slots: 509 }), dr('dns', 53, 2, { slots: 11, protocol: 'udp' })]),
      desired([
        nat('web', 80, 2, { slots: 251 }),
        nat('all', 0, 1, {
          slots: 7,
          port: undefined,
          protocol: 'udp',
          servers: [{ address: '198.51.100.11' }],
        }),
      ]),
      desired([
        dr('web6', 443, 0, { vip: '2001:db8::100', servers: [{ address: '2001:db8:1::11' }], slots: 13 }),
        nat('app6', 444, 0, {
          vip: '2001:db8::100',
          servers: [{ address: '2001:db8:1::12', port: 8443 }],
          slots: 13,
        }),
      ]),
      desired([]),
      desired([dr('web', 80, 3, { slots: 251 })]),
    ];
    try {
      for (const step of steps) {
        const d = parseDesired(step);
        await plane.apply(d);
        const fresher = new NftForwardingPlane(new NftPacketFilter({ netns: fresh }), LINKS);
        await netnsExec(fresh, ['nft', 'flush', 'ruleset']);
        await fresher.apply(d);
        const kernelInc = await listAll(pf.inner as NftPacketFilter);
        const kernelNew = await listAll(new NftPacketFilter({ netns: fresh }));
        assert.equal(kernelInc, kernelNew, JSON.stringify(step));
      }
    } finally {
      await pf.close();
    }
  });

  kernel('a batch the kernel refuses leaves the ruleset as it was', async () => {
    const { inc } = await spaces;
    await netnsExec(inc, ['nft', 'flush', 'ruleset']);
    const nft = new NftPacketFilter({ netns: inc });
    const plane = new NftForwardingPlane(nft, LINKS);
    await plane.apply(parseDesired(desired([dr('web', 80, 3, { slots: 251 })])));
    const before = await normalised(nft, DR);
    // A server link that does not exist: nft refuses the fwd rule, so the whole batch.
    const broken = new NftForwardingPlane(nft, { ...LINKS, serverLink: 'tndnone0' });
    await broken.apply(parseDesired(desired([dr('web', 80, 2, { slots: 251 })]))).then(
      () => assert.unreachable('the kernel accepted a missing device'),
      (err: unknown) => assert.is((err as { code?: string }).code, 'FORWARD_APPLY_FAILED'),
    );
    assert.equal(await normalised(nft, DR), before);
    await nft.close();
  });

  kernel.run();
} else {
  // The sim stands in where nft cannot run, so the file still says what it checks.
  void SimPacketFilter;
}
