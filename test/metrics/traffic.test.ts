import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDesired } from '../../firmware/forward/model.ts';
import { names } from '../../firmware/forward/nft/names.ts';
import { NftForwardingPlane } from '../../firmware/forward/nft/plane.ts';
import type { ForwardingCounters } from '../../firmware/forward/plane.ts';
import { nftTrafficSource, trafficFromCounters } from '../../firmware/metrics/traffic.ts';
import type { TrafficView } from '../../firmware/metrics/views.ts';
import { HalError } from '../../hal/errors.ts';
import { SimPacketFilter } from '../../hal/packetfilter/sim.ts';
import type { TableRef } from '../../hal/packetfilter/types.ts';
import { Rng } from '../../hal/sim/rng.ts';
import { desired, dr, nat } from '../forward/support.ts';
import { rejects } from '../support/assert.ts';

const LINKS = { clientLink: 'tndc0', serverLink: 'tnds0' };
const DR: TableRef = { family: 'netdev', name: 'tandem_dr' };
const NAT: TableRef = { family: 'inet', name: 'tandem_nat' };

/** The plane's own reading, keyed the way the metrics reading is (the plane knows the ports). */
function fromPlane(c: ForwardingCounters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of c.services) {
    out[`${s.name}`] = s.packets * 1e6 + s.bytes + s.connections * 1e-3;
    for (const r of s.servers)
      out[`${s.name} ${r.address}`] = r.packets * 1e6 + r.bytes + r.connections * 1e-3;
  }
  return out;
}

function fromMetrics(t: TrafficView): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of t.services) {
    out[`${s.name}`] = s.packets * 1e6 + s.bytes + s.connections * 1e-3;
    for (const r of s.servers)
      out[`${s.name} ${r.address}`] = r.packets * 1e6 + r.bytes + r.connections * 1e-3;
  }
  return out;
}

/** Moves every counter of the plane's tables by a seeded amount. */
async function bumpAll(pf: SimPacketFilter, rng: Rng): Promise<void> {
  for (const table of [DR, NAT]) {
    let named: { name: string }[];
    try {
      named = (await pf.counters(table)).named;
    } catch {
      continue;
    }
    for (const c of named) pf.bumpCounter(table, c.name, rng.int(0, 50), rng.int(0, 50_000));
  }
}

// ---
const agree = suite('traffic read back from the forwarding counters');

agree(
  'matches what the forwarding plane itself reads, through changes that move server indexes',
  async () => {
    const rng = new Rng(7);
    const pf = new SimPacketFilter();
    const plane = new NftForwardingPlane(pf, LINKS);
    const source = nftTrafficSource(pf);
    const steps = [
      desired([dr('web', 80, 3, { slots: 7 }), nat('my_app-2', 8080, 2, { slots: 7 })]),
      desired([
        dr('web', 80, 3, { slots: 7, servers: [{ address: '198.51.100.11' }, { address: '198.51.100.13' }] }),
        nat('my_app-2', 8080, 3, { slots: 7 }),
        dr('web6', 443, 0, { vip: '2001:db8::100', servers: [{ address: '2001:db8:1::11' }], slots: 7 }),
      ]),
      desired([nat('my_app-2', 8080, 1, { slots: 7 })]),
    ];
    for (const step of steps) {
      await plane.apply(parseDesired(step));
      await bumpAll(pf, rng);
      const expected = fromPlane(await plane.counters());
      const got = fromMetrics(await source({}));
      assert.equal(got, expected);
    }
  },
);

agree('reads addresses and ports from the counter comments, IPv6 without brackets', () => {
  const v = trafficFromCounters([
    {
      method: 'nat',
      counters: [
        { name: 's_a_b', handle: 1, comment: 'service a_b', packets: 5, bytes: 0 },
        {
          name: names.serverPackets('a_b', 0),
          handle: 2,
          comment: 'a_b 10.0.0.1:8080',
          packets: 10,
          bytes: 100,
        },
        {
          name: names.serverConnections('a_b', 0),
          handle: 3,
          comment: 'a_b 10.0.0.1:8080 connections',
          packets: 4,
          bytes: 0,
        },
        { name: names.serverPackets('a_b', 1), handle: 4, comment: 'a_b [fd00::1]:*', packets: 1, bytes: 10 },
      ],
    },
  ]);
  assert.equal(v, {
    services: [
      {
        name: 'a_b',
        method: 'nat',
        packets: 11,
        bytes: 110,
        connections: 5,
        servers: [
          { address: '10.0.0.1', port: '8080', packets: 10, bytes: 100, connections: 4 },
          { address: 'fd00::1', port: '*', packets: 1, bytes: 10, connections: 0 },
        ],
      },
    ],
  });
});

agree('no forwarding tables yet: no services; other driver failures are passed on', async () => {
  const pf = new SimPacketFilter();
  assert.equal(await nftTrafficSource(pf)({}), { services: [] });
  const broken = {
    counters: async (): Promise<never> => {
      throw new HalError('HAL_IO', 'nft: Operation not permitted');
    },
  };
  await rejects(nftTrafficSource(broken)({}), (e) => HalError.is(e, 'HAL_IO'));
});

agree.run();
