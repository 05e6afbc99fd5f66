/**
 * The net contract (hal/net/types.ts) as uvu suites, run against both drivers. A harness gives three hosts
 * on one Ethernet segment — directors `a` and `b` and a `client` — each with its own driver, with
 * 10.77.0.1/24 on a, 10.77.0.2/24 on b and 10.77.0.100/24 on the client, and what the outside world does
 * to them (cut a's cable, make a host send a first packet), and it runs time (sim) or waits for it (Linux).
 */
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { HalError } from '../../../hal/errors.ts';
import type { LinkChangeKind, LinkEvent, LinkWatch, NetDriver } from '../../../hal/net/types.ts';
import { rejects, withCode } from '../../support/assert.ts';

export type Host = 'a' | 'b' | 'client';

export interface NetHarness {
  drivers: Record<Host, NetDriver>;
  /** Each host's link on the segment. */
  links: Record<Host, string>;
  /** `host` sends a first packet to `ip` (an ARP exchange), as a ping would. */
  resolveFrom(host: Host, ip: string): Promise<void>;
  /** Cuts / restores a's cable: a's link loses / regains carrier while staying admin up. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  /** Awaits `p`, running the driver's time as it needs (sim) or waiting in real time, for at most `limitMs`. */
  settle<T>(p: Promise<T>, limitMs?: number): Promise<T>;
  /** Lets `ms` of driver time pass. */
  wait(ms: number): Promise<void>;
  close(): Promise<void>;
}

interface Ctx {
  h: NetHarness;
}

const A_IP = '10.77.0.1';
const B_IP = '10.77.0.2';
const CLIENT_IP = '10.77.0.100';

const halCode = (code: string) => (e: unknown) => HalError.is(e) && e.code === code;
const naming = (code: string, text: string) => (e: unknown) =>
  HalError.is(e) && e.code === code && e.message.includes(text);

async function macOf(d: NetDriver, link: string): Promise<string> {
  const found = (await d.links()).find((l) => l.name === link);
  assert.ok(found, `no link ${link}`);
  return found?.mac ?? '';
}

/** Polls `check` until it holds, letting driver time pass between tries. */
async function eventually(h: NetHarness, what: string, check: () => Promise<boolean>, limitMs = 5000) {
  for (let waited = 0; ; waited += 50) {
    if (await check()) return;
    if (waited >= limitMs) assert.unreachable(`${what}: still not true after ${limitMs} ms`);
    await h.wait(50);
  }
}

/** Reads events of `link` until every kind in `wanted` was seen; returns their kinds in arrival order. */
async function expectKinds(
  h: NetHarness,
  watch: LinkWatch,
  link: string,
  wanted: readonly LinkChangeKind[],
): Promise<LinkEvent[]> {
  const seen: LinkEvent[] = [];
  while (!wanted.every((k) => seen.some((e) => e.kind === k))) {
    const r = await h.settle(watch.next(), 5000);
    assert.not.ok(r.done, `watch ended before ${wanted.join(', ')} on ${link}`);
    if (r.value.link.name === link) seen.push(r.value);
  }
  const order = seen
    .map((e) => e.kind)
    .filter((k): k is LinkChangeKind => wanted.includes(k as LinkChangeKind));
  assert.equal(
    order.filter((k, i) => order.indexOf(k) === i),
    wanted,
    `order of events on ${link}`,
  );
  return seen;
}

/** Registers and runs the contract suites; `label` names the driver in suite names. */
export function netContract(label: string, makeHarness: () => Promise<NetHarness>): void {
  const make = (name: string): Test<Ctx> => {
    const s = suite<Ctx>(`${label}: ${name}`, {} as Ctx);
    s.before(async (ctx) => {
      ctx.h = await makeHarness();
    });
    s.after(async (ctx) => {
      await ctx.h?.close();
    });
    return s;
  };

  // ---

  const links = make('links');

  links('links() lists lo and the segment link, up with carrier', async ({ h }) => {
    const all = await h.drivers.a.links();
    const lo = all.find((l) => l.name === 'lo');
    assert.is(lo?.operState, 'unknown', 'lo is listed');
    const eth = all.find((l) => l.name === h.links.a);
    assert.ok(eth !== undefined && lo !== undefined, `${h.links.a} is listed`);
    assert.ok((eth?.index ?? 0) > 0 && eth?.index !== lo?.index);
    assert.equal([eth?.adminUp, eth?.carrier, eth?.operState, eth?.mtu], [true, true, 'up', 1500]);
    assert.match(eth?.mac ?? '', /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.is.not(eth?.mac, await macOf(h.drivers.b, h.links.b));
  });

  links('setLinkUp is idempotent and shows in links()', async ({ h }) => {
    const { a } = h.drivers;
    const link = h.links.a;
    await a.setLinkUp(link, false);
    await a.setLinkUp(link, false);
    const down = (await a.links()).find((l) => l.name === link);
    assert.equal([down?.adminUp, down?.carrier, down?.operState], [false, false, 'down']);
    await a.setLinkUp(link, true);
    await a.setLinkUp(link, true);
    await eventually(h, `${link} back up`, async () => {
      const up = (await a.links()).find((l) => l.name === link);
      return up?.adminUp === true && up.carrier && up.operState === 'up';
    });
  });

  links(
    'an unknown link is HAL_NOT_FOUND naming it; a malformed name is HAL_INVALID_ARGUMENT',
    async ({ h }) => {
      await rejects(h.drivers.a.setLinkUp('tndnosuch0', true), naming('HAL_NOT_FOUND', 'tndnosuch0'));
      await rejects(h.drivers.a.addresses('tndnosuch0'), naming('HAL_NOT_FOUND', 'tndnosuch0'));
      await rejects(h.drivers.a.setLinkUp('bad/name', true), naming('HAL_INVALID_ARGUMENT', 'bad/name'));
      await rejects(h.drivers.a.setLinkUp('x'.repeat(16), true), halCode('HAL_INVALID_ARGUMENT'));
      await rejects(h.drivers.a.setLinkUp('', true), halCode('HAL_INVALID_ARGUMENT'));
    },
  );

  links.run();

  // ---

  const events = make('link events');

  events('setLinkUp down/up reports admin, carrier and oper changes in order', async ({ h }) => {
    const { a } = h.drivers;
    const watch = await a.watchLinks();
    try {
      await a.setLinkUp(h.links.a, false);
      const downs = await expectKinds(h, watch, h.links.a, ['admin-down', 'carrier-down', 'oper-down']);
      const last = downs.at(-1);
      assert.ok(last !== undefined && last.kind !== 'added' && last.kind !== 'removed');
      assert.is(last.link.adminUp, false);
      assert.is(last.previous.adminUp, true);
      await a.setLinkUp(h.links.a, true);
      await expectKinds(h, watch, h.links.a, ['admin-up', 'carrier-up', 'oper-up']);
    } finally {
      await watch.close();
      await a.setLinkUp(h.links.a, true);
    }
  });

  events('a cut cable reports carrier-down, oper-down; restoring it reports them up', async ({ h }) => {
    const { a } = h.drivers;
    const watch = await a.watchLinks();
    try {
      await h.cut();
      await expectKinds(h, watch, h.links.a, ['carrier-down', 'oper-down']);
      const cut = (await a.links()).find((l) => l.name === h.links.a);
      assert.equal([cut?.adminUp, cut?.carrier, cut?.operState], [true, false, 'down']);
      await h.restore();
      await expectKinds(h, watch, h.links.a, ['carrier-up', 'oper-up']);
    } finally {
      await watch.close();
      await h.restore();
    }
  });

  events(
    'a watch ends on close(), throws HAL_CANCELED on abort, refuses an aborted signal',
    async ({ h }) => {
      const { a } = h.drivers;
      const closing = await a.watchLinks();
      const pending = closing.next();
      await closing.close();
      assert.equal(await h.settle(pending), { value: undefined, done: true });
      assert.equal(await closing.next(), { value: undefined, done: true });

      const ac = new AbortController();
      const aborting = await a.watchLinks({ signal: ac.signal });
      const waiting = aborting.next();
      ac.abort();
      await rejects(h.settle(waiting), withCode('HAL_CANCELED'));
      assert.equal(await aborting.next(), { value: undefined, done: true });

      await rejects(a.watchLinks({ signal: ac.signal }), withCode('HAL_CANCELED'));
    },
  );

  events('breaking out of for-await closes the watch', async ({ h }) => {
    const { a } = h.drivers;
    const watch = await a.watchLinks();
    await h.cut();
    for await (const event of watch) {
      if (event.link.name === h.links.a) break;
    }
    await h.restore();
    assert.equal(await watch.next(), { value: undefined, done: true });
  });

  events.run();

  // ---

  const addrs = make('addresses');

  addrs('add and remove are idempotent and show in addresses()', async ({ h }) => {
    const { a } = h.drivers;
    const link = h.links.a;
    await a.addAddress(link, '10.77.0.50/24');
    await a.addAddress(link, '10.77.0.50/24');
    const listed = (await a.addresses(link)).filter((x) => x.address === '10.77.0.50');
    assert.equal(listed, [
      {
        link,
        family: 'inet',
        address: '10.77.0.50',
        prefixLength: 24,
        cidr: '10.77.0.50/24',
        label: link,
        scope: 'global',
        secondary: true,
      },
    ]);
    const primary = (await a.addresses(link)).find((x) => x.address === A_IP);
    assert.is(primary?.secondary, false);
    await a.removeAddress(link, '10.77.0.50/24');
    await a.removeAddress(link, '10.77.0.50/24');
    assert.not.ok((await a.addresses(link)).some((x) => x.address === '10.77.0.50'));
  });

  addrs('labels, /32 VIPs and IPv6 in canonical form', async ({ h }) => {
    const { a } = h.drivers;
    const link = h.links.a;
    try {
      await a.addAddress(link, '10.77.0.51/32', { label: `${link}:v` });
      await a.addAddress(link, '2001:DB8:0:0::51/64');
      const mine = await a.addresses(link);
      const vip = mine.find((x) => x.address === '10.77.0.51');
      assert.equal([vip?.label, vip?.prefixLength, vip?.secondary], [`${link}:v`, 32, false]);
      const v6 = mine.find((x) => x.family === 'inet6' && x.address === '2001:db8::51');
      assert.equal([v6?.cidr, v6?.label, v6?.scope], ['2001:db8::51/64', undefined, 'global']);
      await rejects(
        a.addAddress(link, '10.77.0.52/32', { label: 'other:v' }),
        naming('HAL_INVALID_ARGUMENT', 'other:v'),
      );
      await rejects(
        a.addAddress(link, '2001:db8::52/64', { label: `${link}:v` }),
        halCode('HAL_INVALID_ARGUMENT'),
      );
    } finally {
      await a.removeAddress(link, '10.77.0.51/32');
      await a.removeAddress(link, '2001:db8::51/64');
    }
    const lo = (await a.addresses()).find((x) => x.address === '127.0.0.1');
    assert.equal([lo?.link, lo?.prefixLength, lo?.scope], ['lo', 8, 'host']);
  });

  addrs('a bad CIDR is HAL_INVALID_ARGUMENT naming it; an unknown link HAL_NOT_FOUND', async ({ h }) => {
    const { a } = h.drivers;
    for (const bad of [
      '10.77.0.300/24',
      '10.77.0.5',
      '10.77.0.5/33',
      'bogus/8',
      '10.77.0.5/24/1',
      '2001:db8::/129',
    ]) {
      await rejects(a.addAddress(h.links.a, bad), naming('HAL_INVALID_ARGUMENT', bad), `addAddress ${bad}`);
      await rejects(
        a.removeAddress(h.links.a, bad),
        naming('HAL_INVALID_ARGUMENT', bad),
        `removeAddress ${bad}`,
      );
    }
    await rejects(a.addAddress(h.links.a, ''), halCode('HAL_INVALID_ARGUMENT'));
    await rejects(a.addAddress('tndnosuch0', '10.77.0.5/24'), naming('HAL_NOT_FOUND', 'tndnosuch0'));
    await rejects(a.removeAddress('tndnosuch0', '10.77.0.5/24'), naming('HAL_NOT_FOUND', 'tndnosuch0'));
  });

  addrs('removing a primary address removes its secondaries (promote_secondaries off)', async ({ h }) => {
    const { b } = h.drivers;
    const link = h.links.b;
    await b.addAddress(link, '10.78.0.1/24');
    await b.addAddress(link, '10.78.0.9/24');
    assert.is((await b.addresses(link)).find((x) => x.address === '10.78.0.9')?.secondary, true);
    await b.removeAddress(link, '10.78.0.1/24');
    const left = (await b.addresses(link)).map((x) => x.address);
    assert.not.ok(left.includes('10.78.0.9'), `left: ${left.join(' ')}`);
    assert.ok(left.includes(B_IP));
  });

  addrs.run();

  // ---

  const garp = make('gratuitous ARP');

  garp('a VIP that moves is re-learned by the client, in both forms', async ({ h }) => {
    const { a, b, client } = h.drivers;
    const vip = '10.77.0.60';
    const [macA, macB] = [await macOf(a, h.links.a), await macOf(b, h.links.b)];
    const clientSees = async () => (await client.neighbours(h.links.client)).find((n) => n.ip === vip)?.mac;
    try {
      await a.addAddress(h.links.a, `${vip}/24`);
      await h.resolveFrom('client', vip);
      assert.is(await clientSees(), macA, 'the client first learns a');

      await a.removeAddress(h.links.a, `${vip}/24`);
      await b.addAddress(h.links.b, `${vip}/24`);
      const viaRequest = await h.settle(
        b.announce(h.links.b, vip, { form: 'request', count: 2, intervalMs: 100 }),
      );
      assert.equal(viaRequest, { sent: 2 });
      assert.is(await clientSees(), macB, 'a gratuitous request moved the client to b');

      await b.removeAddress(h.links.b, `${vip}/24`);
      await a.addAddress(h.links.a, `${vip}/24`);
      const viaReply = await h.settle(a.announce(h.links.a, vip, { form: 'reply', count: 1 }));
      assert.equal(viaReply, { sent: 1 });
      assert.is(await clientSees(), macA, 'a gratuitous reply moved the client back to a');
    } finally {
      await a.removeAddress(h.links.a, `${vip}/24`);
      await b.removeAddress(h.links.b, `${vip}/24`);
    }
  });

  garp('bad arguments are refused before anything is sent', async ({ h }) => {
    const { a } = h.drivers;
    const link = h.links.a;
    await rejects(a.announce(link, '10.77.0.61'), naming('HAL_INVALID_ARGUMENT', '10.77.0.61'));
    await rejects(a.announce('tndnosuch0', A_IP), naming('HAL_NOT_FOUND', 'tndnosuch0'));
    await rejects(a.announce(link, 'bogus'), naming('HAL_INVALID_ARGUMENT', 'bogus'));
    await rejects(a.announce(link, '2001:db8::1'), halCode('HAL_UNSUPPORTED'));
    await rejects(a.announce('lo', '127.0.0.1'), halCode('HAL_UNSUPPORTED'));
    for (const options of [
      { count: 0 },
      { count: 1.5 },
      { count: 101 },
      { intervalMs: -1 },
      { intervalMs: Number.NaN },
    ]) {
      await rejects(
        a.announce(link, A_IP, options),
        halCode('HAL_INVALID_ARGUMENT'),
        JSON.stringify(options),
      );
    }
    // @ts-expect-error: a form the type does not allow
    await rejects(a.announce(link, A_IP, { form: 'loud' }), naming('HAL_INVALID_ARGUMENT', 'loud'));
    await a.setLinkUp(link, false);
    try {
      await rejects(a.announce(link, A_IP), halCode('HAL_IO'));
    } finally {
      await a.setLinkUp(link, true);
    }
  });

  garp('an abort stops the burst with HAL_CANCELED', async ({ h }) => {
    const { a } = h.drivers;
    const ac = new AbortController();
    ac.abort();
    await rejects(a.announce(h.links.a, A_IP, { signal: ac.signal }), withCode('HAL_CANCELED'));
    const mid = new AbortController();
    const burst = a.announce(h.links.a, A_IP, { count: 5, intervalMs: 400, signal: mid.signal });
    await h.wait(100);
    mid.abort();
    await rejects(h.settle(burst, 3000), withCode('HAL_CANCELED'));
  });

  garp('without carrier no frame leaves', async ({ h }) => {
    const { a } = h.drivers;
    await h.cut();
    try {
      assert.equal(await h.settle(a.announce(h.links.a, A_IP, { count: 1 })), { sent: 0 });
    } finally {
      await h.restore();
    }
  });

  garp.run();

  // ---

  const neigh = make('neighbours');

  neigh('a first packet fills the cache; flush forgets entries', async ({ h }) => {
    const { a, client } = h.drivers;
    const link = h.links.client;
    await h.resolveFrom('client', A_IP);
    await h.resolveFrom('client', B_IP);
    const entry = (await client.neighbours(link)).find((n) => n.ip === A_IP);
    assert.is(entry?.mac, await macOf(a, h.links.a));
    assert.is(entry?.link, link);
    assert.ok(['reachable', 'delay', 'stale', 'probe'].includes(entry?.state ?? ''), `state ${entry?.state}`);
    assert.ok((await client.neighbours()).some((n) => n.ip === A_IP && n.link === link));

    await client.flushNeighbours(link, A_IP);
    await client.flushNeighbours(link, A_IP);
    const after = (await client.neighbours(link)).map((n) => n.ip);
    assert.not.ok(after.includes(A_IP));
    assert.ok(after.includes(B_IP));
    await client.flushNeighbours(link);
    assert.not.ok((await client.neighbours(link)).some((n) => n.ip === B_IP));

    await rejects(client.flushNeighbours('tndnosuch0'), naming('HAL_NOT_FOUND', 'tndnosuch0'));
    await rejects(client.flushNeighbours(link, '10.77.0.999'), naming('HAL_INVALID_ARGUMENT', '10.77.0.999'));
  });

  neigh('losing carrier forgets the learned entries of that link', async ({ h }) => {
    const { a } = h.drivers;
    await h.resolveFrom('a', CLIENT_IP);
    assert.ok((await a.neighbours(h.links.a)).some((n) => n.ip === CLIENT_IP));
    await h.cut();
    try {
      await eventually(
        h,
        'entry forgotten',
        async () => !(await a.neighbours(h.links.a)).some((n) => n.ip === CLIENT_IP),
      );
    } finally {
      await h.restore();
    }
  });

  neigh.run();

  // ---

  const routes = make('routes');

  routes('the connected route of an address is listed', async ({ h }) => {
    const connected = (await h.drivers.a.routes()).find((r) => r.destination === '10.77.0.0/24');
    assert.equal(connected, {
      family: 'inet',
      destination: '10.77.0.0/24',
      gateway: undefined,
      link: h.links.a,
      metric: 0,
      protocol: 'kernel',
      scope: 'link',
      source: A_IP,
      linkDown: false,
    });
  });

  routes('add replaces, remove is idempotent', async ({ h }) => {
    const { a } = h.drivers;
    const find = async (dst: string) => (await a.routes()).filter((r) => r.destination === dst);
    await a.addRoute({ destination: '10.90.0.0/16', gateway: B_IP });
    await a.addRoute({ destination: '10.90.0.0/16', gateway: B_IP });
    assert.equal(await find('10.90.0.0/16'), [
      {
        family: 'inet',
        destination: '10.90.0.0/16',
        gateway: B_IP,
        link: h.links.a,
        metric: 0,
        protocol: 'boot',
        scope: 'global',
        source: undefined,
        linkDown: false,
      },
    ]);
    await a.addRoute({ destination: '10.90.0.0/16', gateway: CLIENT_IP });
    assert.equal(
      (await find('10.90.0.0/16')).map((r) => r.gateway),
      [CLIENT_IP],
    );
    await a.removeRoute({ destination: '10.90.0.0/16' });
    await a.removeRoute({ destination: '10.90.0.0/16' });
    assert.equal(await find('10.90.0.0/16'), []);

    await a.addRoute({ destination: 'default', gateway: B_IP, metric: 50 });
    const dflt = await find('default');
    assert.equal(
      dflt.map((r) => [r.gateway, r.metric, r.link]),
      [[B_IP, 50, h.links.a]],
    );
    await a.removeRoute({ destination: 'default', metric: 60 });
    assert.is((await find('default')).length, 1, 'another metric names another route');
    await a.removeRoute({ destination: '0.0.0.0/0', metric: 50 });
    assert.equal(await find('default'), []);

    await a.addRoute({ destination: '10.91.0.0/16', link: h.links.a, metric: 7 });
    const direct = (await find('10.91.0.0/16'))[0];
    assert.equal([direct?.gateway, direct?.scope, direct?.metric], [undefined, 'link', 7]);
    await a.removeRoute({ destination: '10.91.0.0/16', link: h.links.a, metric: 7 });
    assert.equal(await find('10.91.0.0/16'), []);
  });

  routes('bad routes are refused with the right code', async ({ h }) => {
    const { a } = h.drivers;
    await rejects(
      a.addRoute({ destination: '10.90.1.0/16', gateway: B_IP }),
      naming('HAL_INVALID_ARGUMENT', '10.90.1.0/16'),
    );
    await rejects(
      a.addRoute({ destination: 'bogus', gateway: B_IP }),
      naming('HAL_INVALID_ARGUMENT', 'bogus'),
    );
    await rejects(
      a.addRoute({ destination: '10.90.0.0/16', gateway: '10.99.0.1' }),
      halCode('HAL_INVALID_ARGUMENT'),
    );
    await rejects(
      a.addRoute({ destination: '10.90.0.0/16', gateway: '2001:db8::1' }),
      halCode('HAL_INVALID_ARGUMENT'),
    );
    await rejects(a.addRoute({ destination: '10.90.0.0/16' }), halCode('HAL_INVALID_ARGUMENT'));
    await rejects(
      a.addRoute({ destination: '10.90.0.0/16', gateway: B_IP, metric: -1 }),
      halCode('HAL_INVALID_ARGUMENT'),
    );
    await rejects(
      a.addRoute({ destination: '10.90.0.0/16', link: 'tndnosuch0' }),
      naming('HAL_NOT_FOUND', 'tndnosuch0'),
    );
    await rejects(
      a.removeRoute({ destination: '10.90.0.0/16', link: 'tndnosuch0' }),
      naming('HAL_NOT_FOUND', 'tndnosuch0'),
    );
  });

  routes('carrier loss marks routes linkDown; admin down deletes them', async ({ h }) => {
    const { a } = h.drivers;
    const link = h.links.a;
    const mine = async () => (await a.routes()).filter((r) => r.link === link && r.family === 'inet');
    await a.addRoute({ destination: '10.92.0.0/16', gateway: B_IP });
    await h.cut();
    try {
      await eventually(h, 'routes marked linkDown', async () => (await mine()).every((r) => r.linkDown));
      assert.is((await mine()).length, 2);
    } finally {
      await h.restore();
    }
    await eventually(h, 'routes up again', async () => (await mine()).every((r) => !r.linkDown));
    await a.setLinkUp(link, false);
    try {
      assert.equal(await mine(), []);
      await rejects(a.addRoute({ destination: '10.93.0.0/16', link }), halCode('HAL_IO'));
    } finally {
      await a.setLinkUp(link, true);
    }
    await eventually(h, 'connected route back', async () =>
      (await mine()).some((r) => r.destination === '10.77.0.0/24'),
    );
    assert.not.ok(
      (await mine()).some((r) => r.destination === '10.92.0.0/16'),
      'added routes do not come back',
    );
  });

  routes.run();

  // ---

  const closing = make('close');

  closing('after close() every call is HAL_CLOSED and watches end', async ({ h }) => {
    const { a } = h.drivers;
    const watch = await a.watchLinks();
    const first = a.close();
    assert.is(a.close(), first);
    await first;
    assert.equal(await watch.next(), { value: undefined, done: true });
    const calls: [string, () => Promise<unknown>][] = [
      ['links', () => a.links()],
      ['watchLinks', () => a.watchLinks()],
      ['setLinkUp', () => a.setLinkUp(h.links.a, true)],
      ['addresses', () => a.addresses()],
      ['addAddress', () => a.addAddress(h.links.a, '10.77.0.70/24')],
      ['removeAddress', () => a.removeAddress(h.links.a, '10.77.0.70/24')],
      ['announce', () => a.announce(h.links.a, A_IP)],
      ['neighbours', () => a.neighbours()],
      ['flushNeighbours', () => a.flushNeighbours(h.links.a)],
      ['routes', () => a.routes()],
      ['addRoute', () => a.addRoute({ destination: 'default', gateway: B_IP })],
      ['removeRoute', () => a.removeRoute({ destination: 'default', gateway: B_IP })],
    ];
    for (const [name, call] of calls) await rejects(call(), withCode('HAL_CLOSED'), name);
  });

  closing('close() rejects an announcement in flight with HAL_CANCELED', async ({ h }) => {
    const { b } = h.drivers;
    const burst = b.announce(h.links.b, B_IP, { count: 5, intervalMs: 400 });
    await h.wait(50);
    // Handled before close() resolves: closing may wait for child processes to exit.
    const outcome = rejects(h.settle(burst, 3000), withCode('HAL_CANCELED'));
    await b.close();
    await outcome;
  });

  closing.run();
}
