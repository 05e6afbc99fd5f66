import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConnectionReader } from '../../firmware/forward/connections.ts';
import type { ForwardError } from '../../firmware/forward/errors.ts';
import { parseDesired, type ServiceInput } from '../../firmware/forward/model.ts';
import { NftForwardingPlane } from '../../firmware/forward/nft/plane.ts';
import { type ForwardService, startForwarding } from '../../firmware/forward/service.ts';
import { MemoryForwardingSource } from '../../firmware/forward/source.ts';
import { SimClock } from '../../hal/clock/sim.ts';
import { HalError } from '../../hal/errors.ts';
import { SimPacketFilter } from '../../hal/packetfilter/sim.ts';
import type { PacketFilter, TableRef } from '../../hal/packetfilter/types.ts';
import { rejects, withCode } from '../support/assert.ts';
import { desired, dr, nat, normalised, RecordingFilter } from './support.ts';

const DR: TableRef = { family: 'netdev', name: 'tandem_dr' };
const NAT: TableRef = { family: 'inet', name: 'tandem_nat' };
const DR_SLOTS: TableRef = { family: 'netdev', name: 'tandem_dr_slots' };
const NAT_SLOTS: TableRef = { family: 'inet', name: 'tandem_nat_slots' };
const TABLES = { dr: DR, drSlots: DR_SLOTS, nat: NAT, natSlots: NAT_SLOTS };
type State = Record<keyof typeof TABLES, string[] | undefined>;

async function listAll(pf: PacketFilter): Promise<State> {
  const out: Partial<State> = {};
  for (const [key, ref] of Object.entries(TABLES)) out[key as keyof State] = await normalised(pf, ref);
  return out as State;
}
const LINKS = { clientLink: 'client0', serverLink: 'server0' };

interface World {
  sim: SimPacketFilter;
  pf: RecordingFilter;
  plane: NftForwardingPlane;
  source: MemoryForwardingSource;
  errors: ForwardError[];
  service: ForwardService | undefined;
}

function world(): World {
  const sim = new SimPacketFilter();
  const pf = new RecordingFilter(sim);
  return {
    sim,
    pf,
    plane: new NftForwardingPlane(pf, LINKS),
    source: new MemoryForwardingSource(),
    errors: [],
    service: undefined,
  };
}

function start(w: World): ForwardService {
  w.service = startForwarding({ source: w.source, plane: w.plane, onError: (e) => w.errors.push(e) });
  return w.service;
}

/** The state a fresh plane programs for `input`: what any sequence of changes must end in. */
async function fresh(input: unknown): Promise<State> {
  const sim = new SimPacketFilter();
  await new NftForwardingPlane(sim, LINKS).apply(parseDesired(input));
  return listAll(sim);
}

async function state(w: World): Promise<State> {
  return listAll(w.sim);
}

function slotElements(listing: string[] | undefined, map: string): number {
  const line = listing?.find((l) => l.includes(`"name":"${map}"`) && l.startsWith('{"map"'));
  if (line === undefined) return -1;
  const body = (JSON.parse(line) as { map: { elem?: unknown[] } }).map;
  return body.elem?.length ?? 0;
}

const changes = suite<World>('forwarding service over the simulated packet filter', {} as World);

changes.before.each((ctx) => {
  Object.assign(ctx, world());
});
changes.after.each(async (ctx) => {
  await ctx.service?.close();
});

changes('first apply programs DR and NAT tables whole, one element per slot', async (ctx) => {
  ctx.source.set(desired([dr('web', 80, 3), nat('app', 8080, 2, { slots: 257 })]));
  const svc = start(ctx);
  await svc.settled();
  assert.equal(ctx.errors, []);
  const s = await state(ctx);
  assert.is(slotElements(s.drSlots, 'slot_web'), 65537);
  assert.is(slotElements(s.natSlots, 'slot_app'), 257);
  assert.is(svc.status().applies, 1);
});

changes('every sequence of changes ends where a fresh apply of the last state would', async (ctx) => {
  const steps = [
    desired([dr('web', 80, 3), nat('app', 8080, 3, { slots: 257 })]),
    desired([
      dr('web', 80, 0, {
        servers: [
          { address: '198.51.100.11', state: 'drain' },
          { address: '198.51.100.12', weight: 0 },
          { address: '198.51.100.13', state: 'down' },
        ],
      }),
      nat('app', 8080, 0, {
        slots: 257,
        servers: [{ address: '198.51.100.11', port: 8080, state: 'drain' }],
      }),
    ]),
    desired([dr('web', 80, 3), nat('app', 8080, 3, { slots: 257 })]),
    desired([dr('web', 80, 2), nat('app', 8080, 4, { slots: 257 })]),
    desired([dr('web', 80, 4, { scheduler: 'wrr' }), nat('app', 8080, 1, { slots: 257, persistence: 300 })]),
    desired([dr('web', 80, 4, { slots: 251 }), dr('ssh', 22, 1, { slots: 7 })]),
    desired([dr('web', 80, 4, { slots: 509 }), dr('ssh', 22, 1, { slots: 11 })]),
    desired([nat('web', 80, 2, { slots: 251 })]),
    desired([
      dr('web6', 443, 0, { vip: '2001:db8::100', servers: [{ address: '2001:db8:1::11' }], slots: 13 }),
    ]),
    desired([]),
    desired([dr('web', 80, 3)]),
  ];
  const svc = start(ctx);
  for (const step of steps) {
    ctx.source.set(step);
    await svc.settled();
    assert.equal(ctx.errors, [], ctx.errors.map((e) => e.message).join('\n'));
    assert.equal(await state(ctx), await fresh(step), JSON.stringify(step));
  }
});

changes(
  'a server leaving rewrites only its slots (about 1/N), and the kernel is never listed',
  async (ctx) => {
    ctx.source.set(desired([dr('web', 80, 4)]));
    const svc = start(ctx);
    await svc.settled();
    const servers = [
      { address: '198.51.100.11' },
      { address: '198.51.100.12' },
      { address: '198.51.100.14' },
    ];
    ctx.source.set(desired([dr('web', 80, 0, { servers })]));
    await svc.settled();
    const batch = ctx.pf.batches.at(-1);
    const slotCommands = (batch?.nftables ?? []).filter((c) =>
      JSON.stringify(c).includes('"name":"slot_web"'),
    );
    const elements = slotCommands.reduce(
      (n, c) => n + (Object.values(c)[0] as { element: { elem: unknown[] } }).element.elem.length,
      0,
    );
    // Delete and add for each slot whose value changed: the ~1/4 whose base server left, and the ~1/4
    // of the others whose fallback it was (the price of health changes that rewrite no slot).
    assert.ok(elements > 2 * 0.4 * 65537 && elements < 2 * 0.56 * 65537, String(elements));
    assert.is(ctx.pf.lists, 0);
  },
);

changes('re-applying an unchanged state runs no nft at all', async (ctx) => {
  const same = desired([dr('web', 80, 3, { slots: 251 }), nat('app', 81, 2, { slots: 7 })]);
  ctx.source.set(same);
  const svc = start(ctx);
  await svc.settled();
  const batches = ctx.pf.batches.length;
  ctx.source.set(structuredClone(same));
  await svc.settled();
  assert.is(svc.status().applies, 2);
  assert.is(ctx.pf.batches.length, batches);
});

changes('weight 0, drain and down send new flows to the fallback and rewrite no slot', async (ctx) => {
  ctx.source.set(desired([nat('app', 80, 3, { slots: 257 })]));
  const svc = start(ctx);
  await svc.settled();
  const slotValues = async (): Promise<number[]> => {
    const s = await state(ctx);
    const line = s.natSlots?.find((l) => l.includes('"name":"slot_app"')) ?? '';
    return (JSON.parse(line) as { map: { elem: string[] } }).map.elem.map((e) => JSON.parse(e)[1]);
  };
  const before = await slotValues();
  const batches = ctx.pf.batches.length;
  // One server out: only its srv_ entry changes (delete and add), no slot.
  ctx.source.set(
    desired([
      nat('app', 80, 0, {
        slots: 257,
        servers: [1, 2, 3].map((i) => ({
          address: `198.51.100.1${i}`,
          port: 8080,
          state: i === 2 ? 'drain' : 'up',
        })),
      }),
    ]),
  );
  await svc.settled();
  assert.is(ctx.pf.batches.length, batches + 1);
  const one = ctx.pf.batches.at(-1)?.nftables ?? [];
  assert.not.ok(JSON.stringify(one).includes('slot_app'));
  assert.is(one.filter((c) => 'add' in c && 'element' in c.add).length, 1, JSON.stringify(one));
  // Two out at once: the slots whose fallback was the other one shift too.
  ctx.source.set(
    desired([
      nat('app', 80, 0, {
        slots: 257,
        servers: [
          { address: '198.51.100.11', port: 8080, weight: 0 },
          { address: '198.51.100.12', port: 8080, state: 'drain' },
          { address: '198.51.100.13', port: 8080 },
        ],
      }),
    ]),
  );
  await svc.settled();
  const after = await slotValues();
  const s = await state(ctx);
  // Every slot keeps its base server; the slots of servers 0 and 1 fall back to server 2 (index 2 + 1).
  assert.equal(
    after.map((v) => v & 0x40007fff),
    before.map((v) => v & 0x40007fff),
  );
  for (const v of after) {
    if ((v & 0x7fff) !== 2) assert.is((v >> 15) & 0x7fff, 3);
  }
  const srv = s.nat?.find((l) => l.includes('"name":"srv_app"')) ?? '';
  const targets = (JSON.parse(srv) as { map: { elem: string[] } }).map.elem.map((e) => JSON.parse(e));
  assert.equal(targets.sort(), [
    [0x40000000, { goto: { target: 'f_app' } }],
    [0x40000001, { goto: { target: 'f_app' } }],
    [0x40000002, { goto: { target: 'r_app_2' } }],
  ]);
  assert.ok(s.nat?.some((l) => l.includes('"name":"p_app_0"')));
});

changes(
  'DR drain over TCP: a drain chain keeps old flows, remembers new ones; gone when back up',
  async (ctx) => {
    const three = (state: 'up' | 'drain') =>
      desired([
        dr('web', 80, 0, {
          slots: 251,
          servers: [1, 2, 3].map((i) => ({ address: `198.51.100.1${i}`, state: i === 1 ? state : 'up' })),
        }),
      ]);
    ctx.source.set(three('up'));
    const svc = start(ctx);
    await svc.settled();
    ctx.source.set(three('drain'));
    await svc.settled();
    let s = await state(ctx);
    const rules = (s.dr ?? []).filter((l) => l.includes('"chain":"d_web_0"'));
    assert.is(rules.length, 3, JSON.stringify(rules));
    assert.match(rules.join('\n'), /"op":"update".*"@mv_web"/);
    assert.match(rules.join('\n'), /"op":"add".*"@mv_web"/);
    assert.ok(s.dr?.some((l) => l.startsWith('{"set"') && l.includes('"name":"mv_web"')));
    assert.not.ok(JSON.stringify(ctx.pf.batches.at(-1)).includes('slot_web'));
    ctx.source.set(three('up'));
    await svc.settled();
    s = await state(ctx);
    assert.not.ok(s.dr?.some((l) => l.includes('d_web_0') || l.includes('mv_web')));
    assert.equal(ctx.errors, []);
  },
);

changes.run();

// ---

const refusals = suite<World>(
  'bad definitions and refused changes leave the data plane as it was',
  {} as World,
);

refusals.before.each((ctx) => {
  Object.assign(ctx, world());
});
refusals.after.each(async (ctx) => {
  await ctx.service?.close();
});

refusals('each bad definition is reported with its field; nothing is applied', async (ctx) => {
  const good = desired([dr('web', 80, 3, { slots: 251 })]);
  ctx.source.set(good);
  const svc = start(ctx);
  await svc.settled();
  const before = await state(ctx);
  const batches = ctx.pf.batches.length;
  const bad: [unknown, string][] = [
    [desired([dr('web', 80, 3, { vip: '192.0.2.256' })]), 'services.0.vip'],
    [desired([dr('web', 0, 3)]), 'services.0.port'],
    [desired([dr('web', 65536, 3)]), 'services.0.port'],
    [desired([dr('web', 80, 3), dr('web2', 80, 1)]), 'services.1'],
    [
      desired([dr('web', 80, 0, { servers: [{ address: '198.51.100.11', weight: -1 }] })]),
      'services.0.servers.0.weight',
    ],
    [desired([dr('web', 80, 3, { scheduler: 'random' } as unknown as ServiceInput)]), 'services.0.scheduler'],
  ];
  for (const [input, field] of bad) {
    ctx.source.set(input);
    await svc.settled();
    const last = ctx.errors.at(-1);
    assert.is(last?.code, 'FORWARD_INVALID_CONFIG');
    assert.is(last?.field, field);
    assert.equal(svc.status().lastError, last);
  }
  assert.is(ctx.pf.batches.length, batches);
  assert.equal(await state(ctx), before);
  assert.equal(svc.status().applied, parseDesired(good));
});

refusals('a change the kernel refuses is reported; the next one is still a small diff', async (ctx) => {
  ctx.source.set(desired([dr('web', 80, 3, { slots: 251 })]));
  const svc = start(ctx);
  await svc.settled();
  const before = await state(ctx);
  ctx.pf.failNext = new HalError('HAL_INVALID_ARGUMENT', 'nft rejected the batch: Device or resource busy');
  ctx.source.set(desired([dr('web', 80, 2, { slots: 251 })]));
  await svc.settled();
  assert.is(ctx.errors.at(-1)?.code, 'FORWARD_APPLY_FAILED');
  assert.instance(ctx.errors.at(-1)?.cause, HalError);
  assert.equal(await state(ctx), before);
  const next = desired([dr('web', 80, 4, { slots: 251 })]);
  ctx.source.set(next);
  await svc.settled();
  assert.equal(await state(ctx), await fresh(next));
  assert.not.ok(JSON.stringify(ctx.pf.batches.at(-1)).includes('"delete":{"table"'));
});

refusals(
  'after an apply of unknown outcome (timeout) the next one rebuilds the tables whole',
  async (ctx) => {
    ctx.source.set(desired([dr('web', 80, 3, { slots: 251 })]));
    const svc = start(ctx);
    await svc.settled();
    ctx.pf.failNext = new HalError('HAL_TIMEOUT', 'nft did not finish within 30000 ms');
    ctx.source.set(desired([dr('web', 80, 2, { slots: 251 })]));
    await svc.settled();
    const next = desired([dr('web', 80, 1, { slots: 251 })]);
    ctx.source.set(next);
    await svc.settled();
    assert.ok(JSON.stringify(ctx.pf.batches.at(-1)).includes('"delete":{"table"'));
    assert.equal(await state(ctx), await fresh(next));
  },
);

refusals('changes arriving during an apply are folded into the next one', async (ctx) => {
  const svc = start(ctx);
  for (let n = 1; n <= 6; n++) ctx.source.set(desired([dr('web', 80, n, { slots: 251 })]));
  await svc.settled();
  assert.ok(svc.status().applies <= 3, String(svc.status().applies));
  assert.equal(await state(ctx), await fresh(desired([dr('web', 80, 6, { slots: 251 })])));
});

refusals('close() unsubscribes; a closed plane refuses with FORWARD_CLOSED', async (ctx) => {
  const svc = start(ctx);
  await svc.settled();
  await svc.close();
  const applies = svc.status().applies;
  ctx.source.set(desired([dr('web', 80, 2, { slots: 251 })]));
  await svc.settled();
  assert.is(svc.status().applies, applies);
  await ctx.plane.close();
  await rejects(ctx.plane.apply(parseDesired(desired([]))), withCode('FORWARD_CLOSED'));
});

refusals.run();

// ---

const counters = suite('counters per service and real server');

counters(
  'DR counts client packets per service; NAT counts connections at the service, bytes per server',
  async () => {
    const sim = new SimPacketFilter();
    const plane = new NftForwardingPlane(sim, LINKS);
    await plane.apply(
      parseDesired(desired([dr('web', 80, 2, { slots: 7 }), nat('app', 81, 2, { slots: 7 })])),
    );
    sim.bumpCounter(DR, 's_web', 10, 1000);
    sim.bumpCounter(DR, 'n_web_0', 2, 120);
    sim.bumpCounter(DR, 'n_web_1', 1, 60);
    sim.bumpCounter(DR, 'p_web_1', 4, 400);
    sim.bumpCounter(NAT, 's_app', 3, 180);
    sim.bumpCounter(NAT, 'p_app_0', 20, 5000);
    sim.bumpCounter(NAT, 'p_app_1', 10, 2000);
    sim.bumpCounter(NAT, 'n_app_1', 3, 180);
    const c = await plane.counters();
    const web = c.services.find((s) => s.name === 'web');
    const app = c.services.find((s) => s.name === 'app');
    assert.equal([web?.packets, web?.bytes, web?.connections], [10, 1000, 3]);
    assert.equal(web?.servers[1], {
      address: '198.51.100.12',
      port: undefined,
      packets: 4,
      bytes: 400,
      connections: 1,
    });
    assert.equal([app?.packets, app?.bytes, app?.connections], [30, 7000, 3]);
    assert.equal(app?.servers[1]?.connections, 3);
    assert.is(app?.servers[0]?.port, 8080);
  },
);

counters.run();

// ---

const lc = suite('lc/wlc re-weighting on the clock');

lc('every period the NAT wlc table shifts slots away from the server with more connections', async () => {
  const sim = new SimPacketFilter();
  const plane = new NftForwardingPlane(sim, LINKS);
  const clock = new SimClock();
  const source = new MemoryForwardingSource(desired([nat('app', 80, 2, { scheduler: 'wlc', slots: 251 })]));
  let reads = 0;
  const connections: ConnectionReader = {
    activeConnections: async () => {
      reads += 1;
      return new Map([
        [
          'app',
          new Map([
            ['198.51.100.11 8080', 90],
            ['198.51.100.12 8080', 10],
          ]),
        ],
      ]);
    },
  };
  const service = startForwarding({ source, plane, clock, connections, reweightMs: 1000 });
  await service.settled();
  const shareOfFirst = async (): Promise<number> => {
    const listing = await normalised(sim, NAT_SLOTS);
    const line = listing?.find((l) => l.includes('"name":"slot_app"')) ?? '';
    const values = (JSON.parse(line) as { map: { elem: string[] } }).map.elem.map((e) => JSON.parse(e)[1]);
    return values.filter((v) => (v & 0x40007fff) === 0x40000000).length / values.length;
  };
  const before = await shareOfFirst();
  clock.advance(1000);
  await SimClock.flush();
  await service.settled();
  assert.is(reads, 1);
  const after = await shareOfFirst();
  assert.ok(before > 0.4 && after < 0.2, `server 1 held ${before} of the slots, then ${after}`);
  await service.close();
  clock.advance(5000);
  await SimClock.flush();
  assert.is(reads, 1);
});

lc.run();
