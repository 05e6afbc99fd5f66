import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Collector } from '../../firmware/metrics/collector.ts';
import { render } from '../../firmware/metrics/exposition.ts';
import { families } from '../../firmware/metrics/families.ts';
import {
  clusterSocketSource,
  journalSource,
  type MetricsSources,
  supervisorSocketSource,
} from '../../firmware/metrics/sources.ts';
import type { TrafficView } from '../../firmware/metrics/views.ts';
import { LinuxClock } from '../../hal/clock/linux.ts';
import {
  answeringSocket,
  clusterStatus,
  healthRows,
  rawSocket,
  socketDir,
  supervisorStatus,
} from './fixtures.ts';
import { parseExposition, sampleValue } from './parse.ts';

const clock = new LinuxClock();
const TIMEOUT = 200;

interface Ctx {
  dir: ReturnType<typeof socketDir>;
  closers: (() => Promise<void>)[];
}

function withSockets(name: string) {
  const s = suite<Ctx>(name, { dir: { path: () => '', cleanup: () => {} }, closers: [] });
  s.before.each((ctx) => {
    ctx.dir = socketDir();
    ctx.closers = [];
  });
  s.after.each(async (ctx) => {
    for (const close of ctx.closers.reverse()) await close();
    ctx.dir.cleanup();
  });
  return s;
}

// ---
const reading = withSockets('collector over real control sockets');

reading('reads the cluster and the supervisor through their sockets', async (ctx) => {
  const cluster = await answeringSocket(ctx.dir.path('cluster.sock'), () => clusterStatus());
  const sup = await answeringSocket(ctx.dir.path('supervisor.sock'), () => supervisorStatus());
  ctx.closers.push(
    () => cluster.close(),
    () => sup.close(),
  );
  const collector = new Collector({
    clock,
    node: 'a',
    timeoutMs: TIMEOUT,
    sources: {
      cluster: clusterSocketSource(cluster.path),
      supervisor: supervisorSocketSource(sup.path),
      journal: journalSource({
        status: () => ({
          role: 'leader',
          epoch: 7,
          head: 9,
          floor: 1,
          recovering: false,
          relation: 'none',
          lag: undefined,
        }),
        health: { all: async () => healthRows() },
      }),
    },
  });
  const snap = await collector.collect();
  assert.equal(Object.keys(snap.sources), ['cluster', 'supervisor', 'journal']);
  assert.ok(Object.values(snap.sources).every((s) => s.up));
  assert.is(snap.cluster?.role, 'ACTIVE');
  assert.is(snap.supervisor?.services.length, 6);
  assert.is(snap.journal?.servers.length, 3);
  assert.is(snap.journal?.status.lag, null);
  const parsed = parseExposition(render(families(snap)));
  assert.is(sampleValue(parsed, 'tandem_source_up', { source: 'journal' }), 1);
  assert.is(sampleValue(parsed, 'tandem_cluster_role', { role: 'ACTIVE' }), 1);
  assert.is(
    sampleValue(parsed, 'tandem_journal_replication_lag_entries'),
    2,
    "the cluster host's live journal status wins",
  );
});

reading(
  'a silent socket, a missing socket, an error answer and a wrong shape each give source_up 0',
  async (ctx) => {
    const silent = await rawSocket(ctx.dir.path('silent.sock'), () => {});
    const garbage = await rawSocket(ctx.dir.path('garbage.sock'), (s) => {
      s.on('data', () => s.write('{"ok":{"role":"ACTIVE"}}\n'));
    });
    const refusing = await rawSocket(ctx.dir.path('error.sock'), (s) => {
      s.on('data', () => s.write('{"error":{"code":"CONTROL_FAILED","message":"not started"}}\n'));
    });
    ctx.closers.push(
      () => silent.close(),
      () => garbage.close(),
      () => refusing.close(),
    );
    const run = async (sources: MetricsSources) => {
      const started = clock.now();
      const snap = await new Collector({ clock, node: 'a', timeoutMs: TIMEOUT, sources }).collect();
      return { snap, ms: clock.now() - started };
    };

    const a = await run({ cluster: clusterSocketSource(ctx.dir.path('silent.sock')) });
    assert.is(a.snap.sources.cluster?.up, false);
    assert.match(a.snap.sources.cluster?.error ?? '', /no answer within 200 ms/);
    assert.ok(a.ms >= TIMEOUT - 5 && a.ms < TIMEOUT + 400, `bounded by the time limit (took ${a.ms} ms)`);

    const b = await run({ supervisor: supervisorSocketSource(ctx.dir.path('nobody.sock')) });
    assert.is(b.snap.sources.supervisor?.up, false);
    assert.match(b.snap.sources.supervisor?.error ?? '', /ENOENT/);

    const c = await run({ cluster: clusterSocketSource(ctx.dir.path('error.sock')) });
    assert.match(c.snap.sources.cluster?.error ?? '', /CONTROL_FAILED: not started/);

    const d = await run({ cluster: clusterSocketSource(ctx.dir.path('garbage.sock')) });
    assert.match(d.snap.sources.cluster?.error ?? '', /cluster: status field \w+/);
    assert.is(d.snap.cluster, undefined);

    for (const { snap } of [a, b, c, d]) {
      const parsed = parseExposition(render(families(snap)));
      const down = parsed.get('tandem_source_up')?.samples ?? [];
      assert.is(down.length, 1);
      assert.is(down[0]?.value, 0);
    }
  },
);

reading(
  'a source that ignores its signal and a source that throws at once are cut off, the rest still read',
  async (ctx) => {
    const cluster = await answeringSocket(ctx.dir.path('cluster.sock'), () => clusterStatus());
    ctx.closers.push(() => cluster.close());
    let aborted = false;
    const sources: MetricsSources = {
      cluster: clusterSocketSource(cluster.path),
      forward: ({ signal }) =>
        new Promise<TrafficView>(() => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
        }),
      journal: () => {
        throw new Error('synchronous failure');
      },
    };
    const started = clock.now();
    const snap = await new Collector({ clock, node: 'a', timeoutMs: TIMEOUT, sources }).collect();
    assert.ok(clock.now() - started < TIMEOUT + 400);
    assert.ok(aborted, 'the late source was told to stop');
    assert.is(snap.sources.cluster?.up, true);
    assert.is(snap.sources.forward?.up, false);
    assert.is(snap.sources.journal?.error, 'synchronous failure');
  },
);

reading('counters stay monotonic when the cluster restarts; transitions are counted once', async (ctx) => {
  let status = clusterStatus({ framesOut: 500, boot: 3 });
  const cluster = await answeringSocket(ctx.dir.path('cluster.sock'), () => status);
  ctx.closers.push(() => cluster.close());
  const collector = new Collector({
    clock,
    node: 'a',
    timeoutMs: TIMEOUT,
    sources: { cluster: clusterSocketSource(cluster.path) },
  });
  const sent = async () =>
    sampleValue(
      parseExposition(render(families(await collector.collect()))),
      'tandem_heartbeat_frames_sent_total',
      {
        link: 'serial',
      },
    );
  assert.is(await sent(), 500);
  status = clusterStatus({ framesOut: 520, boot: 3 });
  assert.is(await sent(), 520);
  status = clusterStatus({
    framesOut: 7,
    boot: 4,
    transitions: [{ at: 3, from: 'OFF', to: 'INIT', reason: 'start' }],
  });
  assert.is(await sent(), 527, 'the restart does not make the counter go back');
  const snap = await collector.collect();
  assert.equal(snap.transitions, { election: 1, start: 2 });
});

reading('overlapping readings share one pass over the sources', async (ctx) => {
  let calls = 0;
  const cluster = await answeringSocket(ctx.dir.path('cluster.sock'), () => {
    calls += 1;
    return clusterStatus();
  });
  ctx.closers.push(() => cluster.close());
  const collector = new Collector({
    clock,
    node: 'a',
    timeoutMs: TIMEOUT,
    sources: { cluster: clusterSocketSource(cluster.path) },
  });
  const [x, y] = await Promise.all([collector.collect(), collector.collect()]);
  assert.is(x, y);
  assert.is(calls, 1);
  await collector.collect();
  assert.is(calls, 2);
});

reading.run();
