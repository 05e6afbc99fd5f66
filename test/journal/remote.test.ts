import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Journal, JournalView } from '../../firmware/journal/api.ts';
import { JournalError } from '../../firmware/journal/errors.ts';
import type { FeedItem } from '../../firmware/journal/feed.ts';
import { JOURNAL_FILE } from '../../firmware/journal/recovery.ts';
import {
  connectJournal,
  type JournalServer,
  type RemoteJournal,
  serveJournal,
} from '../../firmware/journal/remote/index.ts';
import { HalError } from '../../hal/errors.ts';
import { rejects, withCode } from '../support/assert.ts';
import { startNode, until } from './support/pair.ts';
import { TmpDirs } from './support/tmp.ts';

/**
 * The journal's access socket with real sockets and real SQLite files: a journal served in this process
 * (and, for kill -9 and restarts, in a child process) and clients that read the file read-only and write
 * through the socket. Every result is compared with what the owner's `Journal` gives for the same call.
 */

const tmp = new TmpDirs();
const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE = join(import.meta.dirname, 'fixtures', 'remote-server.ts');

// Both must offer the same view (checked by the compiler).
const asView = (j: Journal | RemoteJournal): JournalView => j;

interface Ctx {
  dir: string;
  socket: string;
  journal: Journal;
  server: JournalServer;
  client: RemoteJournal;
  writes: string[];
}

async function serve(
  ctx: Partial<Ctx>,
  options: { maxLineBytes?: number; maxBufferedBytes?: number } = {},
): Promise<void> {
  ctx.dir = tmp.make('remote');
  ctx.socket = join(ctx.dir, 'journal.sock');
  ctx.writes = [];
  const writes = ctx.writes;
  ctx.journal = await startNode({ dir: ctx.dir, node: 'a' });
  await ctx.journal.promote(1);
  ctx.server = await serveJournal(ctx.journal, {
    path: ctx.socket,
    file: join(ctx.dir, JOURNAL_FILE),
    statusEveryMs: 50,
    log: () => {},
    onWrite: (method, args) => writes.push(`${method} ${String(args[0])}`),
    ...options,
  });
  ctx.client = await connectJournal({ path: ctx.socket, log: () => {} });
}

async function teardown(ctx: Partial<Ctx>): Promise<void> {
  await ctx.client?.close();
  await ctx.server?.close();
  await ctx.journal?.close();
}

/** Sends raw bytes on a fresh connection; resolves with the first `n` lines after the hello. */
async function raw(path: string, bytes: Buffer | string, n: number): Promise<Record<string, unknown>[]> {
  const socket = connect(path);
  const lines: Record<string, unknown>[] = [];
  const rl = createInterface({ input: socket });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${lines.length} of ${n} answers`)), 3000);
      rl.on('line', (line) => {
        const msg = JSON.parse(line) as Record<string, unknown>;
        if ('hello' in msg || 'status' in msg) return;
        lines.push(msg);
        if (lines.length === n) {
          clearTimeout(timer);
          resolve(lines);
        }
      });
      socket.once('connect', () => socket.write(bytes));
      socket.once('error', reject);
    });
  } finally {
    rl.close();
    socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------

const rw = suite<Partial<Ctx>>('remote journal: reads and writes');
rw.before.each((ctx) => serve(ctx));
rw.after.each((ctx) => teardown(ctx));

rw('the client knows the node, its recovery and its status', ({ journal, client }) => {
  const j = asView(journal as Journal);
  const c = asView(client as RemoteJournal);
  assert.is(c.node, 'a');
  assert.equal(c.recovery, j.recovery);
  assert.is(c.status().role, 'leader');
  assert.is(c.status().head, j.status().head);
  assert.ok(client?.connected);
});

rw('a write through the socket is readable at once, by the client and by the owner', async (ctx) => {
  const { journal, client } = ctx as Ctx;
  const e = await client.health.set('web/rs1', 'down', 'refused', { action: 'quiesce', weight: 0 });
  assert.is(e.kind, 'health.set');
  assert.equal(client.health.get('web/rs1'), journal.health.get('web/rs1'));
  assert.is(client.health.get('web/rs1')?.state, 'down');
  assert.is(client.status().head, e.seq, 'the head is read from the file, always current');
  await journal.health.set('web/rs2', 'up');
  assert.equal(client.health.all(), journal.health.all());
  await client.health.delete('web/rs1');
  assert.is(client.health.get('web/rs1'), undefined);
  assert.equal(ctx.writes, ['health.set web/rs1', 'health.delete web/rs1']);
});

rw('configuration: edit, diff, commit, versions, rollback, discard', async ({ journal, client }) => {
  const c = client as RemoteJournal;
  const j = journal as Journal;
  await c.config.edit({ vip: '192.0.2.1' }, { author: 'op' });
  assert.equal(c.config.candidate()?.doc, { vip: '192.0.2.1' });
  assert.equal(c.config.diff('running', 'candidate'), j.config.diff('running', 'candidate'));
  const r = await c.config.commit({ author: 'op', comment: 'first' });
  assert.is(r.version, 1);
  assert.is(r.replication, 'peer-down');
  assert.equal(c.config.running(), j.config.running());
  await c.config.commit({ author: 'op', doc: { vip: '192.0.2.2' }, expectVersion: 1 });
  const back = await c.config.rollback(1, { author: 'op' });
  assert.is(back.version, 3);
  assert.equal(c.config.versions(), j.config.versions());
  assert.equal(c.config.version(3)?.doc, { vip: '192.0.2.1' });
  await c.config.edit({ x: 1 }, { author: 'op' });
  await c.config.discard({ author: 'op' });
  assert.is(c.config.candidate(), undefined);
});

rw('sticky bindings, events and cluster facts', async ({ journal, client }) => {
  const c = client as RemoteJournal;
  const j = journal as Journal;
  await c.sticky.set({ service: 'web', client: '192.0.2.10', server: 'rs1', ttlMs: 60_000 });
  assert.is(c.sticky.get('web', '192.0.2.10')?.server, 'rs1');
  assert.equal(c.sticky.list('web'), j.sticky.list('web'));
  assert.is(c.sticky.count(), 1);
  assert.is(await c.sticky.sweep(), undefined, 'nothing expired: no entry, like the owner');
  await c.sticky.delete('web', '192.0.2.10');
  assert.is(c.sticky.count(), 0);
  const e = await c.events.append({ level: 'audit', source: 'console', message: 'login op' });
  assert.equal(c.events.list({ source: 'console' }), j.events.list({ source: 'console' }));
  assert.is(c.events.list({ afterSeq: e.seq - 1 })[0]?.message, 'login op');
  assert.equal(c.cluster.facts(), j.cluster.facts());
  assert.is(c.cluster.facts().leader, 'a');
});

rw.run();

// ---------------------------------------------------------------------------------------------------

const errors = suite<Partial<Ctx>>('remote journal: errors come back as the same JournalError');
errors.before.each((ctx) => serve(ctx));
errors.after.each((ctx) => teardown(ctx));

/** The local and the remote failure of the same call, as [code, message]. */
async function both(
  local: () => Promise<unknown>,
  remote: () => Promise<unknown>,
): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const f of [local, remote]) {
    try {
      await f();
      out.push(['resolved', '']);
    } catch (err) {
      assert.instance(err, JournalError);
      out.push([(err as JournalError).code, (err as JournalError).message]);
    }
  }
  return out;
}

errors('invalid values, no candidate, no such version, version conflict', async ({ journal, client }) => {
  const j = journal as Journal;
  const c = client as RemoteJournal;
  for (const [name, call] of [
    ['bad state', (x: JournalView) => x.health.set('rs1', 'sideways' as 'up')],
    ['empty key', (x: JournalView) => x.health.set('', 'up')],
    ['bad ttl', (x: JournalView) => x.sticky.set({ service: 's', client: 'c', server: 'r', ttlMs: -1 })],
    ['no candidate', (x: JournalView) => x.config.commit({ author: 'op' })],
    ['no version', (x: JournalView) => x.config.rollback(9, { author: 'op' })],
    ['conflict', (x: JournalView) => x.config.commit({ author: 'op', doc: {}, expectVersion: 4 })],
  ] as const) {
    const [l, r] = await both(
      () => call(j),
      () => call(c),
    );
    assert.not.equal(l?.[0], 'resolved', name);
    assert.equal(r, l, name);
  }
  assert.throws(
    () => c.config.diff(1, 'running'),
    (e: unknown) => JournalError.is(e, 'JOURNAL_NO_SUCH_VERSION'),
  );
});

errors(
  'a write to a journal that is not the leader fails as it does locally',
  async ({ journal, client }) => {
    const j = journal as Journal;
    const c = client as RemoteJournal;
    j.demote();
    const [l, r] = await both(
      () => j.health.set('rs1', 'up'),
      () => c.health.set('rs1', 'up'),
    );
    assert.is(l?.[0], 'JOURNAL_NOT_LEADER');
    assert.equal(r, l);
    await until('the status push', () => c.status().role === 'follower', 2000);
  },
);

errors(
  'garbage, wrong shapes and over-long lines get an error answer; the server keeps serving',
  async (ctx) => {
    await teardown(ctx);
    await serve(ctx, { maxLineBytes: 1024 });
    const { socket, client } = ctx as Ctx;
    const answers = await raw(
      socket,
      Buffer.concat([
        Buffer.from(
          'not json\n[1,2]\n{"id":"x"}\n{"id":7,"op":"drop.tables"}\n{"id":8,"op":"health.set","args":5}\n',
        ),
        Buffer.from(
          '{"id":9,"op":"config.edit","args":[null,null]}\n{"id":10,"op":"subscribe","args":["s"]}\n',
        ),
        Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x0a]),
        Buffer.from(`{"id":11,"op":"health.set","args":["${'x'.repeat(2000)}"]}\n`),
        Buffer.from('{"id":12,"op":"status"}\n'),
      ]),
      10,
    );
    // Answers to requests the journal runs come after the ones refused at once: compare by id.
    const byId = new Map<unknown, string[]>();
    for (const a of answers) {
      const code = (a.error as { code?: string } | undefined)?.code ?? 'ok';
      byId.set(a.id, [...(byId.get(a.id) ?? []), code]);
    }
    const bad = ['JOURNAL_INVALID_ARGUMENT'];
    assert.equal(
      byId.get(null),
      Array(5).fill('JOURNAL_INVALID_ARGUMENT'),
      'not JSON, not an object, no id, binary, over-long',
    );
    for (const id of [7, 8, 9, 10]) assert.equal(byId.get(id), bad, `request ${id}`);
    assert.equal(byId.get(12), ['ok']);
    const errorOf = (id: number | null, i = 0): string =>
      String((answers.filter((a) => a.id === id)[i]?.error as { message?: string } | undefined)?.message);
    assert.match(errorOf(7), 'unknown op');
    assert.match(errorOf(null, 4), 'over 1024 bytes');
    await client.health.set('rs1', 'up');
    assert.is(client.health.get('rs1')?.state, 'up', 'other clients are unaffected');
  },
);

errors('a client that does not read is cut off, not buffered for ever', async (ctx) => {
  await teardown(ctx);
  await serve(ctx, { maxBufferedBytes: 64 * 1024 });
  const { socket, journal } = ctx as Ctx;
  const slow = connect(socket);
  await new Promise((r) => slow.once('connect', r));
  slow.pause();
  slow.write('{"id":1,"op":"subscribe","args":[1,{}]}\n');
  await until('both clients', () => ctx.server?.connections() === 2);
  await new Promise((r) => setTimeout(r, 50));
  const big = 'y'.repeat(4000);
  for (let i = 0; i < 200; i++) void journal.events.append({ level: 'info', source: 't', message: big });
  await journal.events.append({ level: 'info', source: 't', message: 'last' });
  await until('the slow client to be dropped', () => ctx.server?.connections() === 1, 3000);
  slow.destroy();
});

errors.run();

// ---------------------------------------------------------------------------------------------------

const feed = suite<Partial<Ctx>>('remote journal: change feed');
feed.before.each((ctx) => serve(ctx));
feed.after.each((ctx) => teardown(ctx));

feed(
  'subscribe delivers new entries in order, filtered by kind, like the owner feed',
  async ({ journal, client }) => {
    const j = journal as Journal;
    const c = client as RemoteJournal;
    const local: FeedItem[] = [];
    const remote: FeedItem[] = [];
    j.subscribe((i) => local.push(i), { kinds: ['health.'] });
    const sub = c.subscribe((i) => remote.push(i), { kinds: ['health.'] });
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 20; i++) void c.health.set(`rs${i}`, 'up');
    await c.events.append({ level: 'info', source: 't', message: 'not health' });
    await j.health.set('rs-last', 'down');
    await until(
      'the last entry',
      () => remote.flatMap((x) => (x.type === 'entries' ? x.entries : [])).length === 21,
    );
    const seqs = (items: FeedItem[]) =>
      items.flatMap((x) => (x.type === 'entries' ? x.entries.map((e) => e.seq) : []));
    assert.equal(seqs(remote), seqs(local));
    sub.close();
    await c.health.set('after-close', 'up');
    await new Promise((r) => setTimeout(r, 50));
    assert.is(seqs(remote).length, 21, 'nothing after close');
  },
);

feed('afterSeq replays the backlog; changes() iterates until aborted', async ({ journal, client }) => {
  const j = journal as Journal;
  const c = client as RemoteJournal;
  const first = await j.health.set('rs1', 'up');
  await j.health.set('rs2', 'up');
  const ctl = new AbortController();
  const seen: number[] = [];
  const loop = (async () => {
    for await (const item of c.changes({ afterSeq: first.seq - 1, signal: ctl.signal })) {
      if (item.type === 'entries') seen.push(...item.entries.map((e) => e.seq));
      if (seen.length >= 3) ctl.abort();
    }
  })();
  await j.health.set('rs3', 'up');
  await loop;
  assert.equal(seen, [first.seq, first.seq + 1, first.seq + 2]);
});

feed('the replication status is pushed when it changes', async ({ journal, client }) => {
  const c = client as RemoteJournal;
  assert.is(c.status().epoch, 1);
  await (journal as Journal).promote(5);
  await until('epoch 5 at the client', () => c.status().epoch === 5, 2000);
});

feed.run();

// ---------------------------------------------------------------------------------------------------

/** A TCP gate: while shut, every connection is cut at once; open, it joins the two ends. */
class Gate {
  open = false;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(private readonly port: number) {}
  async start(): Promise<number> {
    const server = createServer((inbound) => {
      this.sockets.add(inbound);
      inbound.on('error', () => {});
      if (!this.open) {
        inbound.destroy();
        return;
      }
      const out = connect(this.port, '127.0.0.1');
      this.sockets.add(out);
      out.on('error', () => inbound.destroy());
      inbound.on('close', () => out.destroy());
      out.on('close', () => inbound.destroy());
      inbound.pipe(out).pipe(inbound);
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const a = server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

const snap = suite('remote journal: snapshot install on the served node');

snap('a follower resynced by snapshot sends a reset; reads show the leader state', async () => {
  const dirA = tmp.make('remote-a');
  const dirB = tmp.make('remote-b');
  const b = await startNode({ dir: dirB, node: 'b' });
  const gate = new Gate(b.address()?.port ?? 0);
  const gatePort = await gate.start();
  const a = await startNode({
    dir: dirA,
    node: 'a',
    peerPort: gatePort,
    extra: { checkpoint: { retainEntries: 10 } },
  });
  const socket = join(dirB, 'journal.sock');
  const server = await serveJournal(b, { path: socket, file: join(dirB, JOURNAL_FILE), log: () => {} });
  const client = await connectJournal({ path: socket });
  try {
    await a.promote(1);
    const items: FeedItem[] = [];
    client.subscribe((i) => items.push(i));
    for (let i = 0; i < 100; i++) void a.health.set(`rs${i}`, 'up');
    await a.health.set('last', 'down');
    a.checkpoint();
    gate.open = true;
    await until('the snapshot install', () => items.some((i) => i.type === 'reset'), 10_000);
    assert.equal(
      items.find((i) => i.type === 'reset'),
      { type: 'reset', head: a.status().head, reason: 'snapshot-installed' },
    );
    assert.is(client.health.get('last')?.state, 'down');
    assert.is(client.health.all().length, 101);
    assert.is(client.status().head, a.status().head);
    await rejects(client.health.set('x', 'up'), withCode('JOURNAL_NOT_LEADER'));
  } finally {
    await client.close();
    await server.close();
    await gate.close();
    await a.close();
    await b.close();
  }
});

snap.run();

// ---------------------------------------------------------------------------------------------------

/** The journal owner as a child process (fixtures/remote-server.ts); killed by PID. */
async function startOwner(dir: string, socket: string, epoch: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', FIXTURE, JSON.stringify({ dir, socket, epoch })],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the owner did not start')), 20_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.includes('"ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`the owner exited (${code})`)));
  });
  return child;
}

function killOwner(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  return exited;
}

const restart = suite<{ owner?: ChildProcess; client?: RemoteJournal }>(
  'remote journal: the server goes away',
);
restart.after.each(async (ctx) => {
  await ctx.client?.close();
  await killOwner(ctx.owner, 'SIGKILL');
});

restart(
  'kill -9 of the owner: calls fail, `closed` resolves; after a restart the feed resumes',
  async (ctx) => {
    const dir = tmp.make('remote-owner');
    const socket = join(dir, 'journal.sock');
    ctx.owner = await startOwner(dir, socket, 1);
    const client = await connectJournal({ path: socket, log: () => {} });
    ctx.client = client;
    const seen: string[] = [];
    const disconnects: string[] = [];
    client.on('disconnect', (reason) => disconnects.push(reason.code));
    client.subscribe(
      (i) => {
        if (i.type === 'entries')
          for (const e of i.entries) if (e.kind === 'health.set') seen.push(e.value.server);
      },
      { kinds: ['health.set'] },
    );
    await client.health.set('before', 'up');
    const closed = client.closed;
    await killOwner(ctx.owner, 'SIGKILL');
    const reason = await closed;
    assert.is(reason.code, 'JOURNAL_IO');
    assert.not.ok(client.connected);
    assert.equal(disconnects, ['JOURNAL_IO']);
    await rejects(client.health.set('while-down', 'up'), (e: unknown) => {
      return JournalError.is(e, 'JOURNAL_IO') && HalError.is((e as Error).cause, 'HAL_CLOSED');
    });
    assert.is(client.health.get('before')?.state, 'up', 'reads still answer from the file');
    await rejects(client.reconnect(), withCode('JOURNAL_IO'));

    ctx.owner = await startOwner(dir, socket, 2);
    await client.reconnect({ timeoutMs: 5000 });
    assert.ok(client.connected);
    assert.is(client.status().epoch, 2);
    await client.health.set('after', 'up');
    await until('the resumed feed', () => seen.includes('after'));
    assert.equal(seen, ['before', 'after']);
  },
);

restart(
  'with reconnectMs the client dials again by itself; SIGTERM closes the owner in order',
  async (ctx) => {
    const dir = tmp.make('remote-owner');
    const socket = join(dir, 'journal.sock');
    ctx.owner = await startOwner(dir, socket, 1);
    const client = await connectJournal({ path: socket, reconnectMs: 50, log: () => {} });
    ctx.client = client;
    let connects = 0;
    client.on('connect', () => connects++);
    await killOwner(ctx.owner, 'SIGTERM');
    assert.is(ctx.owner.exitCode, 0);
    await client.closed;
    ctx.owner = await startOwner(dir, socket, 2);
    await until('the automatic reconnect', () => client.connected, 5000);
    assert.is(connects, 1);
    await client.health.set('again', 'up');
    await client.close();
    await rejects(client.health.set('closed', 'up'), withCode('JOURNAL_CLOSED'));
    assert.throws(
      () => client.health.get('again'),
      (e: unknown) => JournalError.is(e, 'JOURNAL_CLOSED'),
    );
  },
);

restart('connectJournal waits up to timeoutMs for the socket, else rejects naming the path', async () => {
  const dir = tmp.make('remote-none');
  const socket = join(dir, 'journal.sock');
  await rejects(
    connectJournal({ path: socket }),
    (e: unknown) => JournalError.is(e, 'JOURNAL_IO') && (e as Error).message.includes(socket),
  );
  const ctl = new AbortController();
  const pending = connectJournal({ path: socket, timeoutMs: 10_000, signal: ctl.signal });
  setTimeout(() => ctl.abort(), 100);
  await rejects(pending, withCode('JOURNAL_CANCELED'));
});

restart.after(() => tmp.cleanup());
restart.run();
