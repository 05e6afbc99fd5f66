import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SimPacketFilter } from '../../../hal/packetfilter/sim.ts';
import type { TableRef } from '../../../hal/packetfilter/types.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { packetFilterContract, setupBatch, shape } from './contract.ts';

packetFilterContract('sim', async () => {
  const pf = new SimPacketFilter();
  return { pf, device: 'tndsim0', dispose: () => pf.close() };
});

// ---

const T: TableRef = { family: 'inet', name: 'tnd_contract' };

const hooks = suite('SimPacketFilter counter hooks');

hooks('bumpCounter and bumpRule move what counters() and list() report', async () => {
  const pf = new SimPacketFilter();
  await pf.apply(setupBatch);
  const pings = (await pf.counters(T)).rules[0];
  assert.ok(pings !== undefined);
  pf.bumpCounter(T, 'seen', 3, 252);
  pf.bumpRule(T, 'in', pings.handle, 2, 168);
  pf.bumpRule(T, 'in', pings.handle, 1, 84);
  const counters = await pf.counters(T);
  assert.equal(
    counters.named.map((c) => [c.name, c.packets, c.bytes]),
    [['seen', 3, 252]],
  );
  assert.equal(
    counters.rules.map((c) => [c.comment, c.packets, c.bytes]),
    [['pings', 3, 252]],
  );
  assert.ok(shape(await pf.list(T)).includes('counter seen 3/252 "all input"'));
});

hooks('bumping a missing counter or an uncounted rule is HAL_NOT_FOUND', async () => {
  const pf = new SimPacketFilter();
  await pf.apply(setupBatch);
  assert.throws(() => pf.bumpCounter(T, 'nope', 1, 1), withCode('HAL_NOT_FOUND'));
  assert.throws(() => pf.bumpRule(T, 'svc', 1, 1, 1), withCode('HAL_NOT_FOUND'));
  assert.throws(
    () => pf.bumpCounter({ family: 'ip', name: 'nope' }, 'seen', 1, 1),
    withCode('HAL_NOT_FOUND'),
  );
});

hooks('a listing is a copy: changing it does not change the ruleset', async () => {
  const pf = new SimPacketFilter();
  await pf.apply(setupBatch);
  const listing = await pf.list(T);
  const rule = listing.nftables.find((i) => 'rule' in i);
  if (rule && 'rule' in rule) rule.rule.expr.length = 0;
  assert.equal(shape(await pf.list(T)), shape({ nftables: (await pf.list(T)).nftables }));
  assert.ok((await pf.list(T)).nftables.every((i) => !('rule' in i) || i.rule.expr.length > 0));
});

hooks('two filters share nothing', async () => {
  const a = new SimPacketFilter();
  const b = new SimPacketFilter();
  await a.apply(setupBatch);
  await rejects(b.list(T), withCode('HAL_NOT_FOUND'));
});

hooks('sim-only canonical forms: an IPv4 integer becomes a dotted quad, IPv6 is compressed', async () => {
  const pf = new SimPacketFilter();
  await pf.apply({
    nftables: [
      { add: { table: { family: 'ip6', name: 't' } } },
      { add: { set: { family: 'ip6', table: 't', name: 's', type: 'ipv6_addr', elem: ['FD00:0:0::1'] } } },
      {
        add: {
          map: { family: 'ip6', table: 't', name: 'm', type: 'ipv4_addr', map: 'ipv4_addr', elem: [[80, 1]] },
        },
      },
    ],
  });
  const lines = shape(await pf.list({ family: 'ip6', name: 't' }));
  assert.ok(lines.includes('set ipv6_addr s ["fd00::1"]'), lines.join('\n'));
  assert.ok(lines.includes('map ipv4_addr:ipv4_addr m [["0.0.0.80","0.0.0.1"]]'), lines.join('\n'));
});

hooks.run();
