import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type {
  Batch,
  Command,
  Family,
  Listing,
  PacketFilter,
  Rule,
  Statement,
  TableRef,
} from '../../../hal/packetfilter/types.ts';
import { rejects, withCode } from '../../support/assert.ts';

export interface FilterWorld {
  pf: PacketFilter;
  /** A network interface that exists where the filter runs (for netdev ingress chains). */
  device: string;
  dispose(): Promise<void>;
}

const T: TableRef = { family: 'inet', name: 'tnd_contract' };
const base = { family: T.family, table: T.name } as const;

const icmpEcho: Statement = {
  match: { op: '==', left: { payload: { protocol: 'icmp', field: 'type' } }, right: 'echo-request' },
};
const fromSet: Statement = {
  match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@blocked' },
};

/** A small ruleset in the forwarding core's style: counters, a set, a verdict map, base and regular chains. */
export const setupBatch: Batch = {
  nftables: [
    { add: { table: T } },
    { add: { counter: { ...base, name: 'seen', comment: 'all input' } } },
    { add: { set: { ...base, name: 'blocked', type: 'ipv4_addr', elem: ['192.0.2.1'] } } },
    { add: { map: { ...base, name: 'ports', type: 'inet_service', map: 'verdict' } } },
    { add: { chain: { ...base, name: 'in', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } } },
    { add: { chain: { ...base, name: 'svc' } } },
    { add: { rule: { ...base, chain: 'in', expr: [{ counter: 'seen' }] } } },
    { add: { rule: { ...base, chain: 'in', expr: [fromSet, { drop: null }] } } },
    {
      add: {
        rule: {
          ...base,
          chain: 'in',
          comment: 'pings',
          expr: [icmpEcho, { counter: null }, { accept: null }],
        },
      },
    },
    {
      add: {
        rule: {
          ...base,
          chain: 'in',
          expr: [{ vmap: { key: { payload: { protocol: 'tcp', field: 'dport' } }, data: '@ports' } }],
        },
      },
    },
    { add: { rule: { ...base, chain: 'svc', expr: [{ accept: null }] } } },
    {
      add: {
        element: {
          ...base,
          name: 'ports',
          elem: [
            [8080, { jump: { target: 'svc' } }],
            [22, { accept: null }],
          ],
        },
      },
    },
  ],
};

/** The listing without handles, one line per object, elements sorted: what both drivers must agree on. */
export function shape(listing: Listing): string[] {
  return listing.nftables.map((item) => {
    if ('table' in item) return `table ${item.table.family} ${item.table.name}`;
    if ('counter' in item) {
      const c = item.counter;
      return `counter ${c.name} ${c.packets}/${c.bytes}${c.comment ? ` "${c.comment}"` : ''}`;
    }
    if ('set' in item || 'map' in item) {
      const s = 'set' in item ? item.set : item.map;
      const elems = (s.elem ?? []).map((e) => JSON.stringify(e)).sort();
      const kind = 'map' in item ? `map ${s.type}:${item.map.map}` : `set ${s.type}`;
      return `${kind} ${s.name}${s.flags ? ` flags=${s.flags.join(',')}` : ''} [${elems.join(' ')}]`;
    }
    if ('chain' in item) {
      const c = item.chain;
      return c.hook === undefined
        ? `chain ${c.name}`
        : `chain ${c.name} ${c.type}/${c.hook}/${c.prio}/${c.policy}`;
    }
    const r = item.rule;
    return `rule ${r.chain}${r.comment ? ` "${r.comment}"` : ''} ${JSON.stringify(r.expr)}`;
  });
}

const expectedSetup = [
  'table inet tnd_contract',
  'counter seen 0/0 "all input"',
  'set ipv4_addr blocked ["192.0.2.1"]',
  'map inet_service:verdict ports [[22,{"accept":null}] [8080,{"jump":{"target":"svc"}}]]',
  'chain in filter/input/0/accept',
  'chain svc',
  'rule in [{"counter":"seen"}]',
  `rule in ${JSON.stringify([fromSet, { drop: null }])}`,
  `rule in "pings" ${JSON.stringify([icmpEcho, { counter: { packets: 0, bytes: 0 } }, { accept: null }])}`,
  'rule in [{"vmap":{"key":{"payload":{"protocol":"tcp","field":"dport"}},"data":"@ports"}}]',
  'rule svc [{"accept":null}]',
];

function handles(listing: Listing, chain: string): number[] {
  return listing.nftables.flatMap((i) => ('rule' in i && i.rule.chain === chain ? [i.rule.handle] : []));
}

const batch = (...commands: Command[]): Batch => ({ nftables: commands });

/** The PacketFilter contract (hal/packetfilter/types.ts), run against both drivers. */
export function packetFilterContract(name: string, make: () => Promise<FilterWorld>): void {
  const contract = suite<{ world: FilterWorld }>(
    `PacketFilter contract: ${name}`,
    {} as { world: FilterWorld },
  );

  contract.before.each(async (ctx) => {
    ctx.world = await make();
  });
  contract.after.each(async (ctx) => {
    await ctx.world.dispose();
  });

  contract('apply builds a table that list() shows in nft order with handles', async ({ world: { pf } }) => {
    await pf.apply(setupBatch);
    const listing = await pf.list(T);
    assert.equal(shape(listing), expectedSetup);
    for (const item of listing.nftables) {
      const body = Object.values(item)[0] as { handle: number };
      assert.ok(Number.isInteger(body.handle) && body.handle > 0, JSON.stringify(item));
    }
  });

  contract('add is idempotent; create on an existing object is refused', async ({ world: { pf } }) => {
    await pf.apply(setupBatch);
    await pf.apply(
      batch(
        { add: { table: T } },
        { add: { chain: { ...base, name: 'svc' } } },
        { add: { counter: { ...base, name: 'seen' } } },
        { add: { set: { ...base, name: 'blocked', type: 'ipv4_addr' } } },
        { add: { element: { ...base, name: 'blocked', elem: ['192.0.2.1'] } } },
        { add: { element: { ...base, name: 'ports', elem: [[22, { accept: null }]] } } },
      ),
    );
    assert.equal(shape(await pf.list(T)), expectedSetup);
    for (const command of [
      { create: { table: T } },
      { create: { chain: { ...base, name: 'svc' } } },
      { create: { counter: { ...base, name: 'seen' } } },
      { create: { set: { ...base, name: 'blocked', type: 'ipv4_addr' } } },
      { create: { element: { ...base, name: 'blocked', elem: ['192.0.2.1'] } } },
    ] as Command[]) {
      await rejects(pf.apply(batch(command)), withCode('HAL_INVALID_ARGUMENT'), JSON.stringify(command));
    }
  });

  contract(
    'a batch the kernel refuses changes nothing, and the error carries the reason',
    async ({ world: { pf } }) => {
      await pf.apply(setupBatch);
      const before = await pf.list(T);
      const goodThenBad: [string, Command][] = [
        ['missing table', { add: { chain: { family: 'inet', table: 'tnd_nope', name: 'x' } } }],
        ['missing chain', { add: { rule: { ...base, chain: 'nope', expr: [{ accept: null }] } } }],
        [
          'jump to a missing chain',
          { add: { rule: { ...base, chain: 'svc', expr: [{ jump: { target: 'nope' } }] } } },
        ],
        [
          'a missing set',
          {
            add: {
              rule: {
                ...base,
                chain: 'svc',
                expr: [
                  {
                    ...fromSet,
                    match: {
                      op: '==',
                      left: { payload: { protocol: 'ip', field: 'saddr' } },
                      right: '@nope',
                    },
                  },
                ],
              },
            },
          },
        ],
        [
          'a missing named counter',
          { add: { rule: { ...base, chain: 'svc', expr: [{ counter: 'nope' }] } } },
        ],
        ['delete a missing chain', { delete: { chain: { ...base, name: 'nope' } } }],
        ['delete a missing rule', { delete: { rule: { ...base, chain: 'svc', handle: 9999 } } }],
        ['delete a chain a map element jumps to', { delete: { chain: { ...base, name: 'svc' } } }],
        ['delete a set a rule uses', { delete: { set: { ...base, name: 'blocked' } } }],
        ['delete a counter a rule uses', { delete: { counter: { ...base, name: 'seen' } } }],
        ['delete a missing table', { delete: { table: { family: 'inet', name: 'tnd_nope' } } }],
        [
          'a map key with another value',
          { add: { element: { ...base, name: 'ports', elem: [[22, { drop: null }]] } } },
        ],
        [
          'an element for a missing set',
          { add: { element: { ...base, name: 'nope', elem: ['192.0.2.9'] } } },
        ],
        [
          'a set element that is not an address',
          { add: { element: { ...base, name: 'blocked', elem: ['not-an-address.invalid'] } } },
        ],
        [
          'a prefix in a set without the interval flag',
          {
            add: { element: { ...base, name: 'blocked', elem: [{ prefix: { addr: '10.0.0.0', len: 8 } }] } },
          },
        ],
        [
          'a pair in a plain set',
          { add: { element: { ...base, name: 'blocked', elem: [['192.0.2.2', '192.0.2.3']] } } },
        ],
        [
          'a port out of range',
          { add: { element: { ...base, name: 'ports', elem: [[70000, { accept: null }]] } } },
        ],
        [
          'a verdict map value that is no verdict',
          { add: { element: { ...base, name: 'ports', elem: [[81, '192.0.2.1']] } } },
        ],
        [
          'a set redeclared with another type',
          { add: { set: { ...base, name: 'blocked', type: 'ipv6_addr' } } },
        ],
        [
          'a base chain moved to another hook',
          { add: { chain: { ...base, name: 'in', type: 'filter', hook: 'output', prio: 0 } } },
        ],
        [
          'a regular chain turned into a base chain',
          { add: { chain: { ...base, name: 'svc', type: 'filter', hook: 'output', prio: 0 } } },
        ],
        [
          'replace a missing rule',
          { replace: { rule: { ...base, chain: 'svc', handle: 9999, expr: [{ drop: null }] } } },
        ],
        [
          'insert before a missing rule',
          { insert: { rule: { ...base, chain: 'svc', handle: 9999, expr: [{ drop: null }] } } },
        ],
        [
          'add after a missing index',
          { add: { rule: { ...base, chain: 'svc', index: 5, expr: [{ drop: null }] } } },
        ],
        ['flush a missing set', { flush: { set: { ...base, name: 'nope' } } }],
      ];
      for (const [what, bad] of goodThenBad) {
        const err = await rejects(
          pf.apply(
            batch(
              { add: { table: { family: 'inet', name: 'tnd_partial' } } },
              { add: { chain: { ...base, name: 'extra' } } },
              { add: { element: { ...base, name: 'blocked', elem: ['192.0.2.200'] } } },
              bad,
            ),
          ),
          withCode('HAL_INVALID_ARGUMENT'),
          what,
        );
        assert.match((err as Error).message, /^nft rejected the batch: .+/, what);
        assert.equal(shape(await pf.list(T)), shape(before), `${what} left changes behind`);
        await rejects(pf.list({ family: 'inet', name: 'tnd_partial' }), withCode('HAL_NOT_FOUND'), what);
      }
    },
  );

  contract(
    'batches outside the typed subset are refused before nft, naming the place',
    async ({ world: { pf } }) => {
      await pf.apply(setupBatch);
      const bad: [unknown, RegExp][] = [
        [{ nftables: 'x' }, /^batch/],
        [{}, /^batch/],
        [{ nftables: [{ frob: { table: T } }] }, /^nftables\[0\]/],
        [{ nftables: [{ add: { table: T }, delete: { table: T } }] }, /^nftables\[0\]/],
        [{ nftables: [{ flush: { rule: { ...base, chain: 'in' } } }] }, /^nftables\[0\]\.flush/],
        [{ nftables: [{ add: { quota: { ...base, name: 'q' } } }] }, /^nftables\[0\]\.add/],
        [{ nftables: [{ add: { table: { family: 'ipx', name: 't' } } }] }, /family/],
        [{ nftables: [{ add: { table: { family: 'ip', name: '' } } }] }, /name/],
        [{ nftables: [{ add: { table: { family: 'ip', name: 'x'.repeat(256) } } }] }, /name/],
        [{ nftables: [{ add: { table: { family: 'ip', name: 't', bogus: 1 } } }] }, /bogus/],
        [{ nftables: [{ add: { chain: { ...base, name: 'c', type: 'filter', hook: 'input' } } }] }, /prio/],
        [
          {
            nftables: [
              { add: { chain: { ...base, name: 'c', type: 'filter', hook: 'input', prio: 'filter' } } },
            ],
          },
          /prio/,
        ],
        [{ nftables: [{ add: { chain: { ...base, name: 'c', hook: 'input', prio: 0 } } }] }, /type/],
        [{ nftables: [{ add: { chain: { ...base, name: 'c', policy: 'drop' } } }] }, /type/],
        [
          {
            nftables: [
              {
                add: {
                  chain: { family: 'netdev', table: 't', name: 'c', type: 'filter', hook: 'input', prio: 0 },
                },
              },
            ],
          },
          /hook/,
        ],
        [
          {
            nftables: [
              {
                add: {
                  chain: {
                    family: 'netdev',
                    table: 't',
                    name: 'c',
                    type: 'filter',
                    hook: 'ingress',
                    prio: 0,
                  },
                },
              },
            ],
          },
          /dev/,
        ],
        [
          { nftables: [{ add: { chain: { ...base, name: 'c', type: 'nat', hook: 'forward', prio: 0 } } }] },
          /hook/,
        ],
        [
          {
            nftables: [
              {
                add: {
                  chain: { ...base, name: 'c', type: 'filter', hook: 'input', prio: 0, policy: 'reject' },
                },
              },
            ],
          },
          /policy/,
        ],
        [{ nftables: [{ add: { rule: { ...base, chain: 'in' } } }] }, /expr/],
        [{ nftables: [{ add: { rule: { ...base, chain: 'in', expr: [{ frob: null }] } } }] }, /frob/],
        [
          { nftables: [{ add: { rule: { ...base, chain: 'in', expr: [{ accept: null, drop: null }] } } }] },
          /expr\[0\]/,
        ],
        [{ nftables: [{ add: { rule: { ...base, chain: 'in', handle: 2, expr: [] } } }] }, /handle/],
        [{ nftables: [{ delete: { rule: { ...base, chain: 'in' } } }] }, /handle/],
        [{ nftables: [{ delete: { rule: { ...base, chain: 'in', handle: 1.5 } } }] }, /handle/],
        [{ nftables: [{ add: { element: { ...base, name: 'blocked', elem: [] } } }] }, /elem/],
        [{ nftables: [{ add: { map: { ...base, name: 'm', type: 'ipv4_addr' } } }] }, /map/],
        [
          {
            nftables: [
              { add: { map: { ...base, name: 'm', type: 'ipv4_addr', map: ['ipv4_addr', 'inet_service'] } } },
            ],
          },
          /map: must be one data type name.*concatenated/,
        ],
        [
          { nftables: [{ add: { set: { ...base, name: 'd', type: 'ipv4_addr', flags: ['dynamic'] } } }] },
          /flags: .*dynamic by itself/,
        ],
        [{ nftables: [{ add: { counter: { ...base, name: 'k', packets: -1 } } }] }, /packets/],
      ];
      const before = shape(await pf.list(T));
      for (const [candidate, where] of bad) {
        const err = await rejects(
          pf.apply(candidate as Batch),
          withCode('HAL_INVALID_ARGUMENT'),
          JSON.stringify(candidate),
        );
        assert.match((err as Error).message, where, JSON.stringify(candidate));
      }
      assert.equal(shape(await pf.list(T)), before);
    },
  );

  contract(
    'rules go where index and handle say; replace and delete work by handle',
    async ({ world: { pf } }) => {
      await pf.apply(setupBatch);
      const rule = (
        verb: 'add' | 'insert' | 'replace',
        place: { index?: number; handle?: number },
        tag: string,
      ): Command => {
        const r: Rule = { ...base, chain: 'svc', ...place, comment: tag, expr: [{ accept: null }] };
        return verb === 'add'
          ? { add: { rule: r } }
          : verb === 'insert'
            ? { insert: { rule: r } }
            : { replace: { rule: r } };
      };
      await pf.apply(
        batch(rule('add', {}, 'b'), rule('insert', {}, 'first'), rule('add', { index: 0 }, 'second')),
      );
      const comments = async (): Promise<string[]> =>
        (await pf.list(T)).nftables.flatMap((i) =>
          'rule' in i && i.rule.chain === 'svc' ? [i.rule.comment ?? '-'] : [],
        );
      assert.equal(await comments(), ['first', 'second', '-', 'b']);
      const [first, , plain] = handles(await pf.list(T), 'svc') as [number, number, number, number];
      await pf.apply(
        batch(rule('insert', { handle: plain }, 'before-plain'), rule('insert', { index: 0 }, 'top')),
      );
      assert.equal(await comments(), ['top', 'first', 'second', 'before-plain', '-', 'b']);
      await pf.apply(
        batch(rule('replace', { handle: first }, 'replaced'), {
          delete: { rule: { ...base, chain: 'svc', handle: plain } },
        }),
      );
      assert.equal(await comments(), ['top', 'replaced', 'second', 'before-plain', 'b']);
      assert.ok(handles(await pf.list(T), 'svc').includes(first), 'replace keeps the handle');
    },
  );

  contract(
    'add updates a base chain policy; delete takes a chain with its rules',
    async ({ world: { pf } }) => {
      await pf.apply(setupBatch);
      await pf.apply(
        batch({
          add: { chain: { ...base, name: 'in', type: 'filter', hook: 'input', prio: 0, policy: 'drop' } },
        }),
      );
      assert.ok(shape(await pf.list(T)).includes('chain in filter/input/0/drop'));
      await pf.apply(batch({ add: { chain: { ...base, name: 'in' } } }));
      assert.ok(
        shape(await pf.list(T)).includes('chain in filter/input/0/drop'),
        'a plain add leaves the base chain',
      );
      await pf.apply(
        batch(
          { add: { chain: { ...base, name: 'spare' } } },
          { add: { rule: { ...base, chain: 'spare', expr: [{ drop: null }] } } },
          { delete: { chain: { ...base, name: 'spare' } } },
        ),
      );
      assert.not.ok(shape(await pf.list(T)).some((line) => line.includes('spare')));
    },
  );

  contract('flush empties chains, tables (sets keep their elements) and sets', async ({ world: { pf } }) => {
    await pf.apply(setupBatch);
    await pf.apply(batch({ flush: { chain: { ...base, name: 'svc' } } }));
    assert.equal(handles(await pf.list(T), 'svc'), []);
    await pf.apply(batch({ flush: { table: T } }));
    const flushed = shape(await pf.list(T));
    assert.not.ok(flushed.some((line) => line.startsWith('rule')));
    assert.ok(flushed.includes('set ipv4_addr blocked ["192.0.2.1"]'), flushed.join('\n'));
    await pf.apply(
      batch({ flush: { set: { ...base, name: 'blocked' } } }, { flush: { map: { ...base, name: 'ports' } } }),
    );
    assert.ok(shape(await pf.list(T)).includes('set ipv4_addr blocked []'));
    await pf.apply(
      batch(
        { delete: { chain: { ...base, name: 'svc' } } },
        { delete: { counter: { ...base, name: 'seen' } } },
      ),
    );
  });

  contract('elements: interval sets, data maps, deletion by key', async ({ world: { pf } }) => {
    await pf.apply(setupBatch);
    await pf.apply(
      batch(
        {
          add: {
            set: {
              ...base,
              name: 'nets',
              type: 'ipv4_addr',
              flags: ['interval'],
              elem: [{ prefix: { addr: '10.0.0.0', len: 8 } }],
            },
          },
        },
        {
          add: {
            map: {
              ...base,
              name: 'nat',
              type: 'ipv4_addr',
              map: 'ipv4_addr',
              elem: [['198.51.100.1', '10.0.0.1']],
            },
          },
        },
        { add: { element: { ...base, name: 'blocked', elem: ['192.0.2.2', '192.0.2.3'] } } },
        { delete: { element: { ...base, name: 'ports', elem: [22] } } },
        { delete: { element: { ...base, name: 'blocked', elem: ['192.0.2.1'] } } },
      ),
    );
    const lines = shape(await pf.list(T));
    assert.ok(
      lines.includes('set ipv4_addr nets flags=interval [{"prefix":{"addr":"10.0.0.0","len":8}}]'),
      lines.join('\n'),
    );
    assert.ok(lines.includes('map ipv4_addr:ipv4_addr nat [["198.51.100.1","10.0.0.1"]]'), lines.join('\n'));
    assert.ok(lines.includes('set ipv4_addr blocked ["192.0.2.2" "192.0.2.3"]'), lines.join('\n'));
    assert.ok(
      lines.includes('map inet_service:verdict ports [[8080,{"jump":{"target":"svc"}}]]'),
      lines.join('\n'),
    );
    await rejects(
      pf.apply(batch({ delete: { element: { ...base, name: 'blocked', elem: ['192.0.2.1'] } } })),
      withCode('HAL_INVALID_ARGUMENT'),
    );
  });

  contract(
    'counters() reports named and per-rule counters with handles and comments',
    async ({ world: { pf } }) => {
      await pf.apply(setupBatch);
      const counters = await pf.counters(T);
      assert.equal(
        counters.named.map(({ handle: _, ...c }) => c),
        [{ name: 'seen', comment: 'all input', packets: 0, bytes: 0 }],
      );
      assert.is(counters.rules.length, 1);
      const [pings] = counters.rules;
      assert.equal(
        { ...pings, handle: 0 },
        { chain: 'in', handle: 0, comment: 'pings', packets: 0, bytes: 0 },
      );
      assert.ok(handles(await pf.list(T), 'in').includes(pings?.handle ?? -1));
      await pf.apply(batch({ add: { counter: { ...base, name: 'preset', packets: 5, bytes: 700 } } }));
      assert.ok(
        (await pf.counters(T)).named.some((c) => c.name === 'preset' && c.packets === 5 && c.bytes === 700),
      );
    },
  );

  contract('a netdev ingress chain on a device', async ({ world: { pf, device } }) => {
    const nd = { family: 'netdev' as Family, table: 'tnd_edge' };
    await pf.apply(
      batch(
        { add: { table: { family: 'netdev', name: 'tnd_edge' } } },
        {
          add: {
            chain: {
              ...nd,
              name: 'ingress',
              type: 'filter',
              hook: 'ingress',
              prio: -500,
              dev: device,
              policy: 'accept',
            },
          },
        },
        { add: { rule: { ...nd, chain: 'ingress', expr: [{ counter: null }] } } },
      ),
    );
    // The device's own traffic (IPv6 neighbour discovery) may already have been counted.
    const listed = shape(await pf.list({ family: 'netdev', name: 'tnd_edge' })).map((line) =>
      line.replace(/"packets":\d+,"bytes":\d+/, '"packets":N,"bytes":N'),
    );
    assert.equal(listed, [
      'table netdev tnd_edge',
      'chain ingress filter/ingress/-500/accept',
      'rule ingress [{"counter":{"packets":N,"bytes":N}}]',
    ]);
    await pf.deleteTable({ family: 'netdev', name: 'tnd_edge' });
  });

  contract('deleteTable is idempotent; a missing table lists as HAL_NOT_FOUND', async ({ world: { pf } }) => {
    await pf.apply(setupBatch);
    await pf.deleteTable(T);
    await pf.deleteTable(T);
    await rejects(pf.list(T), withCode('HAL_NOT_FOUND'));
    await rejects(pf.counters(T), withCode('HAL_NOT_FOUND'));
    await rejects(pf.list({ family: 'ipx' as Family, name: 'x' }), withCode('HAL_INVALID_ARGUMENT'));
    await rejects(pf.deleteTable({ family: 'ip', name: '' }), withCode('HAL_INVALID_ARGUMENT'));
  });

  contract(
    'an aborted signal applies nothing; after close() calls get HAL_CLOSED',
    async ({ world: { pf } }) => {
      const ac = new AbortController();
      ac.abort();
      await rejects(pf.apply(setupBatch, { signal: ac.signal }), withCode('HAL_CANCELED'));
      await rejects(pf.list(T, { signal: ac.signal }), withCode('HAL_CANCELED'));
      await rejects(pf.list(T), withCode('HAL_NOT_FOUND'));
      await pf.close();
      await pf.close();
      await rejects(pf.apply(setupBatch), withCode('HAL_CLOSED'));
      await rejects(pf.list(T), withCode('HAL_CLOSED'));
      await rejects(pf.deleteTable(T), withCode('HAL_CLOSED'));
    },
  );

  contract.run();
}
