import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JournalForwardingSource } from '../../firmware/forward/journal-source.ts';
import { parseDesired } from '../../firmware/forward/model.ts';
import type { Journal } from '../../firmware/journal/api.ts';
import { HealthTable } from '../../firmware/journal/health.ts';
import { migrate } from '../../firmware/journal/migrations.ts';
import { startJournal } from '../../firmware/journal/service.ts';
import {
  APPLIANCE_KEY,
  JournalHealthSink,
  quorumKey,
  sorryKey,
} from '../../firmware/monitor/journal-sink.ts';
import { SinkQueue } from '../../firmware/monitor/sink-queue.ts';
import type { ServerHealthRecord } from '../../firmware/monitor/types.ts';
import { SimClock } from '../../hal/clock/sim.ts';
import { startNode, until } from '../journal/support/pair.ts';
import { TEST_KEY, TmpDirs } from '../journal/support/tmp.ts';
import { rejects, withCode } from '../support/assert.ts';

/** The monitor's HealthSink on a real leader/follower journal pair over loopback. */
const tmp = new TmpDirs();

interface Ctx {
  a: Journal;
  b: Journal;
}

const record: ServerHealthRecord = {
  service: 'web',
  server: 'rs1',
  address: '10.0.0.1',
  port: 8080,
  state: 'down',
  action: 'quiesce',
  weight: 0,
  cause: 'fall',
  reason: 'connect refused',
};

const sink = suite<Ctx>('journal health sink', {} as Ctx);

sink.before.each(async (ctx) => {
  ctx.b = await startNode({ dir: tmp.make('jmb'), node: 'b' });
  ctx.a = await startNode({ dir: tmp.make('jma'), node: 'a', peerPort: ctx.b.address()?.port ?? 0 });
  await ctx.a.promote(1);
  await until(
    'the pair to attach',
    () => ctx.a.status().relation === 'source' && ctx.b.status().relation === 'follow',
  );
});
sink.after.each(async (ctx) => {
  await Promise.all([ctx.a.close(), ctx.b.close()]);
});
sink.after(() => tmp.cleanup());

sink('server records become <service>/<server> rows with their action and weight', async ({ a }) => {
  await new JournalHealthSink(a).server(record);
  const row = a.health.get('web/rs1');
  assert.is(row?.state, 'down');
  assert.is(row?.detail, 'connect refused');
  assert.equal(row?.data, {
    service: 'web',
    server: 'rs1',
    address: '10.0.0.1',
    port: 8080,
    action: 'quiesce',
    weight: 0,
    cause: 'fall',
  });
});

sink('a record repeating the state writes nothing (only cause differs)', async ({ a }) => {
  const s = new JournalHealthSink(a);
  await s.server(record);
  const head = a.status().head;
  await s.server({ ...record, cause: 'reconfigured' });
  await s.applianceHealth({ score: 100, components: [] });
  await s.applianceHealth({ score: 100, components: [] });
  assert.is(a.status().head, head + 1, 'one entry: the appliance row');
  await s.serverRemoved({ service: 'web', server: 'rs1' });
  await s.serverRemoved({ service: 'web', server: 'rs1' });
  assert.is(a.status().head, head + 2);
  assert.is(a.health.get('web/rs1'), undefined);
});

sink('quorum, sorry and appliance records take reserved keys', async ({ a }) => {
  const s = new JournalHealthSink(a);
  await s.quorum({
    service: 'web',
    met: false,
    liveWeight: 2,
    quorum: 5,
    hysteresis: 1,
    cause: 'transition',
  });
  await s.sorry({ service: 'web', active: true, address: '10.0.9.9', port: 80, cause: 'transition' });
  await s.applianceHealth({
    score: 50,
    components: [
      { name: 'eth0', kind: 'link', healthy: true, weight: 1, detail: 'carrier' },
      { name: 'gw', kind: 'gateway', healthy: false, weight: 1, detail: 'no reply' },
    ],
  });
  assert.is(a.health.get(quorumKey('web'))?.state, 'down');
  assert.is(a.health.get(sorryKey('web'))?.state, 'up');
  const appliance = a.health.get(APPLIANCE_KEY);
  assert.is(appliance?.state, 'down');
  assert.ok(appliance?.detail.includes('gateway gw: no reply'), appliance?.detail);
  assert.equal(appliance?.data, {
    score: 50,
    components: [
      { name: 'eth0', kind: 'link', healthy: true, weight: 1, detail: 'carrier' },
      { name: 'gw', kind: 'gateway', healthy: false, weight: 1, detail: 'no reply' },
    ],
  });
});

sink('rows replicate: the standby forwarding source sees the leader monitor', async ({ a, b }) => {
  await a.config.commit({
    author: 'op',
    doc: {
      services: [
        {
          name: 'web',
          vip: '192.0.2.10',
          protocol: 'tcp',
          port: 80,
          method: 'nat',
          servers: [{ name: 'rs1', address: '10.0.0.1', port: 8080 }],
        },
      ],
    },
  });
  const source = new JournalForwardingSource(b);
  let calls = 0;
  const off = source.subscribe(() => calls++);
  await new JournalHealthSink(a).server(record);
  await until('the follower to catch up', () => b.status().head === a.status().head);
  assert.equal(b.health.get('web/rs1')?.data, a.health.get('web/rs1')?.data);
  assert.is(parseDesired(source.current()).services[0]?.servers[0]?.state, 'drain');
  await until('the standby source to fire', () => calls > 0);
  off();
});

sink('on the follower the sink is refused with JOURNAL_NOT_LEADER and writes nothing', async ({ b }) => {
  const s = new JournalHealthSink(b);
  await rejects(s.server(record), withCode('JOURNAL_NOT_LEADER'));
  await rejects(s.applianceHealth({ score: 100, components: [] }), withCode('JOURNAL_NOT_LEADER'));
  await rejects(s.serverRemoved({ service: 'web', server: 'rs1' }), withCode('JOURNAL_NOT_LEADER'));
  assert.is(b.health.get('web/rs1'), undefined);
});

sink('on the follower a record matching the replicated row is still refused', async ({ a, b }) => {
  await new JournalHealthSink(a).server(record);
  await until('the follower to catch up', () => b.status().head === a.status().head);
  assert.ok(b.health.get('web/rs1'));
  await rejects(new JournalHealthSink(b).server(record), withCode('JOURNAL_NOT_LEADER'));
});

sink.run();

const retry = suite('journal health sink behind the monitor queue');

retry.after(() => tmp.cleanup());

retry('a record refused on the standby is held and lands once the node leads', async () => {
  const clock = new SimClock({ wallOriginMs: Date.UTC(2026, 0, 1) });
  const journal = await startJournal({
    dir: tmp.make('jmq'),
    node: 'a',
    peer: { node: 'b' },
    clusterKey: TEST_KEY,
    clock,
    log: () => {},
  });
  try {
    const errors: string[] = [];
    const queue = new SinkQueue(
      new JournalHealthSink(journal),
      clock,
      (_call, err) => errors.push((err as { code?: string }).code ?? String(err)),
      1000,
    );
    queue.push({ method: 'server', record });
    await queue.flushed();
    assert.equal(errors, ['JOURNAL_NOT_LEADER']);
    assert.is(queue.size, 1, 'held for a retry');
    await journal.promote(1);
    clock.advance(1000);
    await queue.flushed();
    await SimClock.flush();
    assert.is(queue.size, 0);
    assert.is(journal.health.get('web/rs1')?.state, 'down');
    queue.close();
  } finally {
    await journal.close();
  }
});

retry('rows written before the upgrade keep their place, with no data', () => {
  const db = new Database(':memory:');
  try {
    migrate(db, 2);
    db.prepare("INSERT INTO health (server, state, detail, since, seq) VALUES ('rs1', 'up', '', 1, 1)").run();
    migrate(db);
    const table = new HealthTable(db);
    assert.equal(table.get('rs1'), { server: 'rs1', state: 'up', detail: '', since: 1, seq: 1, data: null });
  } finally {
    db.close();
  }
});

retry.run();
