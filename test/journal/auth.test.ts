import { connect } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Journal } from '../../firmware/journal/api.ts';
import { encodeFrame } from '../../firmware/journal/codec.ts';
import { replicatedState, startNode, until } from './support/pair.ts';
import { FrameProxy, type SeenFrame } from './support/proxy.ts';
import { TmpDirs } from './support/tmp.ts';

/**
 * Forged, garbled, replayed and wrong-key frames against two live journals, through a man in the middle
 * (support/proxy.ts) or straight at the follower's port: each is refused, counted, and applied nowhere.
 */
const tmp = new TmpDirs();
const ENTRIES = 3;
const WRONG_KEY = Buffer.from('not-the-cluster-key-at-all-000000', 'utf8');

interface Ctx {
  a: Journal;
  b: Journal;
  proxy: FrameProxy;
  portB: number;
}

const refused = (j: Journal, reason: string): number => j.status().counters.refused[reason] ?? 0;
const attached = (ctx: Ctx): boolean =>
  ctx.a.status().relation === 'source' && ctx.b.status().relation === 'follow';
const caughtUp = (ctx: Ctx): boolean => ctx.b.status().head === ctx.a.status().head;

/** Asserts that no node holds a health row for `server` (or any variant of it). */
function nowhere(ctx: Ctx, pattern: RegExp): void {
  for (const j of [ctx.a, ctx.b]) {
    const hits = j.health.all().filter((h) => pattern.test(h.server));
    assert.equal(hits, [], `${j.node} holds ${pattern}`);
  }
}

const auth = suite<Ctx>('journal replication refuses bad frames', {} as Ctx);

auth.before.each(async (ctx) => {
  ctx.b = await startNode({ dir: tmp.make('jb'), node: 'b' });
  ctx.portB = ctx.b.address()?.port ?? 0;
  ctx.proxy = new FrameProxy({ host: '127.0.0.1', port: ctx.portB });
  const proxyPort = await ctx.proxy.start();
  ctx.a = await startNode({ dir: tmp.make('ja'), node: 'a', peerPort: proxyPort });
  await ctx.a.promote(1);
  await until('the pair to attach', () => attached(ctx));
});

auth.after.each(async (ctx) => {
  await ctx.a.close();
  await ctx.proxy.close();
  await ctx.b.close();
});

auth.after(() => tmp.cleanup());

auth(
  'a garbled entries frame is refused (bad-mac); the leader resends and the good entry arrives',
  async (ctx) => {
    let flipped = false;
    ctx.proxy.tamper = (f) => {
      const at = f.bytes.indexOf('GARBLE-ME');
      if (flipped || f.dir !== 'to-listener' || f.type !== ENTRIES || at < 0) return [f.bytes];
      flipped = true;
      const g = Buffer.from(f.bytes);
      g[at + 8] = (g[at + 8] as number) ^ 0x20;
      return [g];
    };
    await ctx.a.health.set('GARBLE-ME', 'up');
    await ctx.a.health.set('after', 'up');
    await until('the follower to catch up', () => caughtUp(ctx));
    assert.ok(flipped);
    assert.is(refused(ctx.b, 'bad-mac'), 1);
    nowhere(ctx, /^GARBLE-Me$/);
    assert.ok(ctx.b.health.get('GARBLE-ME'));
    assert.equal(replicatedState(ctx.b), replicatedState(ctx.a));
  },
);

auth('a frame replayed on its own connection is refused as replayed and changes nothing', async (ctx) => {
  await ctx.a.health.set('once', 'up');
  await until('the follower to catch up', () => caughtUp(ctx));
  const recorded = ctx.proxy.seen
    .filter((f) => f.dir === 'to-listener' && f.type === ENTRIES)
    .pop() as SeenFrame;
  const before = replicatedState(ctx.b);
  ctx.proxy.inject('to-listener', recorded.bytes);
  ctx.proxy.inject('to-listener', recorded.bytes);
  await until('the replays to be counted', () => refused(ctx.b, 'replayed') === 2);
  assert.equal(replicatedState(ctx.b), before);
  assert.ok(attached(ctx), 'the connection survives a replay');
});

auth('a frame recorded on an earlier connection fails authentication on the next one', async (ctx) => {
  await ctx.a.health.set('old', 'up');
  await until('the follower to catch up', () => caughtUp(ctx));
  const recorded = ctx.proxy.seen
    .filter((f) => f.dir === 'to-listener' && f.type === ENTRIES)
    .pop() as SeenFrame;
  ctx.proxy.cut();
  await until('a new connection', () => ctx.proxy.connections === 2 && attached(ctx));
  const before = refused(ctx.b, 'bad-mac');
  ctx.proxy.inject('to-listener', recorded.bytes);
  await until('the replay to be refused', () => refused(ctx.b, 'bad-mac') === before + 1);
  await ctx.a.health.set('new', 'up');
  await until('the follower to catch up', () => caughtUp(ctx));
  assert.equal(replicatedState(ctx.b), replicatedState(ctx.a));
});

auth(
  'forged entries (wrong key) injected into a live connection are refused and applied nowhere',
  async (ctx) => {
    const head = ctx.b.status().head;
    const forged = encodeFrame(
      {
        type: 'entries',
        epoch: 9,
        seq: head + 1,
        prevSeq: head,
        prevEpoch: 1,
        entries: [
          {
            kind: 'health.set',
            value: { server: 'FORGED', state: 'up', detail: '', since: 0 },
            seq: head + 1,
            epoch: 9,
            at: 0,
          },
        ],
      },
      { key: WRONG_KEY, binding: Buffer.alloc(16), counter: 1_000_000 },
    );
    ctx.proxy.inject('to-listener', forged);
    ctx.proxy.inject('to-dialler', forged);
    await until(
      'both ends to refuse it',
      () => refused(ctx.b, 'bad-mac') === 1 && refused(ctx.a, 'bad-mac') === 1,
    );
    await ctx.a.health.set('real', 'up');
    await until('the follower to catch up', () => caughtUp(ctx));
    nowhere(ctx, /FORGED/);
    assert.is(ctx.b.status().epoch, 1, 'a forged epoch is not adopted');
  },
);

auth('a node with the wrong cluster key never attaches; its frames are refused', async (ctx) => {
  const impostor = await startNode({ dir: tmp.make('jx'), node: 'a', peerPort: ctx.portB, key: WRONG_KEY });
  try {
    await impostor.promote(5);
    await impostor.health.set('IMPOSTOR', 'up');
    // Its HELLO fails authentication, and so does ours at its end: no STATUS ever follows, the handshake
    // times out and it redials, to be refused again.
    await until('the follower to refuse it twice', () => refused(ctx.b, 'bad-mac') >= 2);
    assert.is(impostor.status().relation, 'none');
    assert.ok(attached(ctx), 'the real pair is undisturbed');
    nowhere(ctx, /IMPOSTOR/);
    assert.is(impostor.health.get('old'), undefined);
  } finally {
    await impostor.close();
  }
});

auth('a replayed HELLO and STATUS from an old connection go nowhere; garbage is fatal', async (ctx) => {
  const hello = ctx.proxy.seen.find((f) => f.dir === 'to-listener' && f.type === 1) as SeenFrame;
  const status = ctx.proxy.seen.find((f) => f.dir === 'to-listener' && f.type === 2) as SeenFrame;
  const badMac = refused(ctx.b, 'bad-mac');
  const replay = connect({ host: '127.0.0.1', port: ctx.portB });
  const closed = new Promise<void>((resolve) => replay.once('close', () => resolve()));
  replay.on('error', () => {});
  replay.write(Buffer.concat([hello.bytes, status.bytes]));
  await until('the replayed STATUS to be refused', () => refused(ctx.b, 'bad-mac') === badMac + 1);
  replay.destroy();
  await closed;
  const garbage = connect({ host: '127.0.0.1', port: ctx.portB });
  garbage.on('error', () => {});
  garbage.resume();
  const dropped = new Promise<void>((resolve) => garbage.once('close', () => resolve()));
  garbage.write('GET / HTTP/1.1\r\nHost: journal\r\n\r\n');
  await dropped;
  assert.is(refused(ctx.b, 'bad-magic'), 1);
  assert.ok(attached(ctx), 'the real pair is undisturbed');
  await ctx.a.health.set('still-fine', 'up');
  await until('the follower to catch up', () => caughtUp(ctx));
});

auth.run();
