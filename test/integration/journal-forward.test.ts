import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JournalForwardingSource } from '../../firmware/forward/journal-source.ts';
import { type DesiredForwarding, parseDesired } from '../../firmware/forward/model.ts';
import type { Journal } from '../../firmware/journal/api.ts';
import { startJournal } from '../../firmware/journal/service.ts';
import type { ConfigDoc } from '../../firmware/journal/types.ts';
import { JournalHealthSink } from '../../firmware/monitor/journal-sink.ts';
import type { ServerHealthRecord } from '../../firmware/monitor/types.ts';
import { SimClock } from '../../hal/clock/sim.ts';
import { TEST_KEY, TmpDirs } from '../journal/support/tmp.ts';
import { rejects, withCode } from '../support/assert.ts';

/** The monitor's records, through the journal, reach the forwarding service's desired state. */
const tmp = new TmpDirs();

interface Ctx {
  journal: Journal;
  source: JournalForwardingSource;
  sink: JournalHealthSink;
}

function doc(servers = ['rs1', 'rs2'], extra: Record<string, unknown> = {}): ConfigDoc {
  return {
    services: [
      {
        name: 'web',
        vip: '192.0.2.10',
        protocol: 'tcp',
        port: 80,
        method: 'nat',
        scheduler: 'wrr',
        servers: servers.map((name, i) => ({
          name,
          address: `10.0.0.${i + 1}`,
          port: 8080,
          weight: 5,
          ...extra,
        })),
      },
    ],
  };
}

function down(server: string, action: 'quiesce' | 'remove', i = 1): ServerHealthRecord {
  return {
    service: 'web',
    server,
    address: `10.0.0.${i}`,
    port: 8080,
    state: 'down',
    action,
    weight: 0,
    cause: 'fall',
    reason: 'connect refused',
  };
}

function up(server: string, i = 1): ServerHealthRecord {
  return {
    ...down(server, 'quiesce', i),
    state: 'up',
    action: 'restore',
    weight: 5,
    cause: 'rise',
    reason: '',
  };
}

function states(source: JournalForwardingSource): string[] {
  const desired: DesiredForwarding = parseDesired(source.current());
  return desired.services.flatMap((s) => s.servers.map((r) => `${r.address}:${r.state}:${r.weight}`));
}

const fwd = suite<Ctx>('journal forwarding source', {} as Ctx);

fwd.before.each(async (ctx) => {
  const journal = await startJournal({
    dir: tmp.make('jfwd'),
    node: 'a',
    peer: { node: 'b' },
    clusterKey: TEST_KEY,
    clock: new SimClock({ wallOriginMs: Date.UTC(2026, 0, 1) }),
    log: () => {},
  });
  await journal.promote(1);
  ctx.journal = journal;
  ctx.source = new JournalForwardingSource(journal);
  ctx.sink = new JournalHealthSink(journal);
});
fwd.after.each(async (ctx) => {
  await ctx.journal.close();
});
fwd.after(() => tmp.cleanup());

fwd('no running configuration: no services', ({ source }) => {
  assert.equal(parseDesired(source.current()).services, []);
});

fwd('the running configuration is the desired state, names dropped', async ({ journal, source }) => {
  await journal.config.commit({ author: 'op', doc: doc() });
  assert.equal(states(source), ['10.0.0.1:up:5', '10.0.0.2:up:5']);
});

fwd('a config commit changes the desired state and tells subscribers', async ({ journal, source }) => {
  await journal.config.commit({ author: 'op', doc: doc() });
  let calls = 0;
  const off = source.subscribe(() => calls++);
  await journal.config.commit({ author: 'op', doc: doc(['rs1', 'rs2', 'rs3']) });
  assert.is(calls, 1);
  assert.equal(states(source), ['10.0.0.1:up:5', '10.0.0.2:up:5', '10.0.0.3:up:5']);
  off();
  await journal.config.commit({ author: 'op', doc: doc(['rs1']) });
  assert.is(calls, 1, 'unsubscribed');
});

fwd('monitor records lower servers: quiesce drains, remove takes out, restore undoes', async (ctx) => {
  const { journal, source, sink } = ctx;
  await journal.config.commit({ author: 'op', doc: doc() });
  let calls = 0;
  source.subscribe(() => calls++);
  await sink.server(down('rs1', 'quiesce', 1));
  assert.equal(states(source), ['10.0.0.1:drain:5', '10.0.0.2:up:5']);
  await sink.server(down('rs2', 'remove', 2));
  assert.equal(states(source), ['10.0.0.1:drain:5', '10.0.0.2:down:5']);
  assert.is(calls, 2);
  await sink.server(up('rs1', 1));
  await sink.serverRemoved({ service: 'web', server: 'rs2' });
  assert.equal(states(source), ['10.0.0.1:up:5', '10.0.0.2:up:5']);
  assert.is(calls, 4);
});

fwd('health never raises a server above its configured state', async ({ journal, source, sink }) => {
  await journal.config.commit({ author: 'op', doc: doc(['rs1'], { state: 'down' }) });
  await sink.server(up('rs1', 1));
  assert.equal(states(source), ['10.0.0.1:down:5']);
  await journal.config.commit({ author: 'op', doc: doc(['rs1'], { state: 'drain' }) });
  await sink.server(down('rs1', 'remove', 1));
  assert.equal(states(source), ['10.0.0.1:down:5']);
});

fwd('quorum, sorry and appliance records do not disturb forwarding', async ({ journal, source, sink }) => {
  await journal.config.commit({ author: 'op', doc: doc() });
  let calls = 0;
  source.subscribe(() => calls++);
  await sink.quorum({
    service: 'web',
    met: false,
    liveWeight: 0,
    quorum: 5,
    hysteresis: 0,
    cause: 'initial',
  });
  await sink.sorry({ service: 'web', active: true, address: '10.0.9.9', port: 80, cause: 'initial' });
  await sink.applianceHealth({ score: 100, components: [] });
  assert.is(calls, 0);
  assert.equal(states(source), ['10.0.0.1:up:5', '10.0.0.2:up:5']);
});

fwd('an invalid running document is FORWARD_INVALID_CONFIG naming the field', async ({ journal, source }) => {
  await journal.config.commit({ author: 'op', doc: { services: [{ name: 'web' }] } });
  await rejects(
    Promise.resolve().then(() => source.current()),
    (e) => withCode('FORWARD_INVALID_CONFIG')(e) && /services/.test((e as Error).message),
  );
});

fwd.run();
