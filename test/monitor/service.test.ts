/**
 * The monitor service (startMonitor) in a simulated world: SimClock, SimPinger (icmp checks and the
 * gateway), a SimNetwork for the appliance's links, an in-memory sink. Everything runs in virtual time.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { MonitorConfigInput } from '../../firmware/monitor/config.ts';
import { StaticConfigSource } from '../../firmware/monitor/config-source.ts';
import { ConfigFieldError, MonitorError } from '../../firmware/monitor/errors.ts';
import { startMonitor } from '../../firmware/monitor/service.ts';
import { MemoryHealthSink } from '../../firmware/monitor/sinks.ts';
import type { HealthSink, LogLevel, MonitorHandle } from '../../firmware/monitor/types.ts';
import { SimClock } from '../../hal/clock/sim.ts';
import { SimPinger } from '../../hal/icmp/sim.ts';
import { SimNetwork } from '../../hal/net/sim.ts';
import { Rng } from '../../hal/sim/rng.ts';
import { rejects } from '../support/assert.ts';

const RS = ['198.51.100.11', '198.51.100.12', '198.51.100.13'];
const GATEWAY = '198.51.100.1';

interface World {
  clock: SimClock;
  pinger: SimPinger;
  net: SimNetwork;
  sink: MemoryHealthSink;
  source: StaticConfigSource;
  logs: { level: LogLevel; message: string }[];
  monitor: MonitorHandle;
  /** Advances virtual time by `ms`, letting promise callbacks run after every timer. */
  run(ms: number): Promise<void>;
}

const farm = (
  service: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): MonitorConfigInput => ({
  defaults: { intervalMs: 100, timeoutMs: 50, rise: 2, fall: 3, jitterMs: 0 },
  services: [
    {
      name: 'web',
      port: 80,
      checks: [{ kind: 'icmp' }],
      servers: RS.map((address, i) => ({ name: `rs${i + 1}`, address })),
      ...service,
    },
  ],
  ...extra,
});

async function world(
  config: MonitorConfigInput,
  seed = 1,
  sink: HealthSink = new MemoryHealthSink(),
  rttMs = 1,
): Promise<World> {
  const clock = new SimClock();
  const rng = new Rng(seed);
  const pinger = new SimPinger({ clock, rng: rng.fork() });
  for (const a of [...RS, GATEWAY]) pinger.setUp(a, { rttMs });
  const net = new SimNetwork({ clock });
  net.addSegment('clients');
  net.addSegment('servers');
  net.addSegment('xover', 'cable');
  net.addNode('a');
  net.addNode('b');
  net.connect('a', 'clients', 'client0');
  net.connect('a', 'servers', 'server0');
  net.connect('a', 'xover', 'hb0');
  net.connect('b', 'xover', 'hb0');
  const source = new StaticConfigSource(config);
  const logs: { level: LogLevel; message: string }[] = [];
  const monitor = await startMonitor({ clock, pinger, net: net.node('a') }, source, sink, {
    seed,
    log: (level, message) => logs.push({ level, message }),
  });
  const run = async (ms: number): Promise<void> => {
    const end = clock.worldNow() + ms;
    for (;;) {
      await SimClock.flush();
      const due = clock.nextDue();
      if (due === undefined || due > end) break;
      clock.advanceTo(Math.max(due, clock.worldNow()));
    }
    clock.advanceTo(end);
    await SimClock.flush();
  };
  await run(0);
  return { clock, pinger, net, sink: sink as MemoryHealthSink, source, logs, monitor, run };
}

const serverLog = (sink: MemoryHealthSink) =>
  sink.log
    .filter((e) => e.type === 'server')
    .map((e) => (e.type === 'server' ? `${e.record.server} ${e.record.state} ${e.record.cause}` : ''));

// ---
const flapping = suite('flapping with rise and fall');

flapping('a server that stops answering goes down after fall probes and comes back after rise', async () => {
  const w = await world(farm());
  try {
    assert.equal(serverLog(w.sink), ['rs1 up initial', 'rs2 up initial', 'rs3 up initial']);
    w.pinger.setDown(RS[0] as string);
    const t0 = w.clock.now();
    await w.run(400);
    const down = w.sink.servers.get('web/rs1');
    assert.equal([down?.state, down?.action, down?.weight], ['down', 'quiesce', 0]);
    assert.match(down?.reason ?? '', /icmp: timed out after 50 ms/);
    w.pinger.setUp(RS[0] as string);
    await w.run(300);
    assert.equal(serverLog(w.sink).slice(3), ['rs1 down fall', 'rs1 up rise']);
    assert.ok(w.clock.now() - t0 >= 700);
    assert.ok(
      w.logs.some((l) => l.level === 'warn' && /real server web\/rs1 is down/.test(l.message)),
      'the fall is logged',
    );
  } finally {
    await w.monitor.close();
  }
});

flapping('a server losing every other reply never flaps; the log has no transitions', async () => {
  const w = await world(farm());
  try {
    const rs2 = RS[1] as string;
    for (let i = 0; i < 20; i++) {
      if (i % 2 === 0) w.pinger.setDown(rs2);
      else w.pinger.setUp(rs2, { rttMs: 1 });
      await w.run(100);
    }
    assert.equal(serverLog(w.sink), ['rs1 up initial', 'rs2 up initial', 'rs3 up initial']);
    assert.not.ok(w.logs.some((l) => /is (up|down)/.test(l.message)));
  } finally {
    await w.monitor.close();
  }
});

flapping("a silent server is down at its probe's exact timeout, not at the next 10 ms tick", async () => {
  const w = await world(farm({}, { defaults: { intervalMs: 100, timeoutMs: 53, fall: 1, jitterMs: 0 } }));
  try {
    await w.run(50);
    w.pinger.setDown(RS[0] as string);
    await w.run(102); // the probe started at 100 times out at 153
    assert.is(w.sink.servers.get('web/rs1')?.state, 'up');
    await w.run(1);
    assert.is(w.sink.servers.get('web/rs1')?.state, 'down');
    assert.match(w.sink.servers.get('web/rs1')?.reason ?? '', /timed out after 53 ms/);
  } finally {
    await w.monitor.close();
  }
});

flapping.run();

// ---
const quorum = suite('quorum and sorry server');

quorum(
  'all servers down: quorum lost and sorry server on; one back: sorry off; quorum with hysteresis',
  async () => {
    const w = await world(
      farm({ quorum: 2, quorumHysteresis: 1, sorryServer: { address: '198.51.100.50', port: 8080 } }, {}),
    );
    try {
      assert.equal([w.sink.quorums.get('web')?.met, w.sink.sorries.get('web')?.active], [true, false]);
      for (const a of RS) w.pinger.setDown(a);
      await w.run(400);
      assert.equal([w.sink.quorums.get('web')?.met, w.sink.quorums.get('web')?.liveWeight], [false, 0]);
      assert.equal(w.sink.sorries.get('web'), {
        service: 'web',
        active: true,
        address: '198.51.100.50',
        port: 8080,
        cause: 'transition',
      });
      w.pinger.setUp(RS[0] as string, { rttMs: 1 });
      await w.run(300);
      assert.is(w.sink.sorries.get('web')?.active, false);
      assert.is(w.sink.quorums.get('web')?.met, false, 'live 1 < quorum + hysteresis 3');
      w.pinger.setUp(RS[1] as string, { rttMs: 1 });
      await w.run(300);
      assert.is(w.sink.quorums.get('web')?.met, false, 'live 2 < 3');
      w.pinger.setUp(RS[2] as string, { rttMs: 1 });
      await w.run(300);
      assert.is(w.sink.quorums.get('web')?.met, true, 'live 3');
      const kinds = w.sink.log
        .filter((e) => e.type === 'quorum' || e.type === 'sorry')
        .map((e) =>
          e.type === 'quorum'
            ? `quorum ${e.record.met}`
            : e.type === 'sorry'
              ? `sorry ${e.record.active}`
              : '',
        );
      assert.equal(kinds, [
        'quorum true',
        'sorry false',
        'quorum false',
        'sorry true',
        'sorry false',
        'quorum true',
      ]);
    } finally {
      await w.monitor.close();
    }
  },
);

quorum.run();

// ---
const concurrency = suite('bounded concurrency');

concurrency('a hung check does not delay the others', async () => {
  const w = await world(
    farm(
      {},
      { maxConcurrent: 2, defaults: { intervalMs: 100, timeoutMs: 90, rise: 2, fall: 3, jitterMs: 0 } },
    ),
  );
  try {
    w.pinger.setDown(RS[0] as string); // every probe of rs1 runs until its 90 ms timeout
    const before = w.monitor.stats();
    await w.run(1000);
    const after = w.monitor.stats();
    // rs1's probe at 0 was answered (it was still up); from 100 on each timed out 90 ms after it started
    // (190 … 990), while rs2 and rs3 were answered every 100 ms.
    assert.is(after.timeouts - before.timeouts, 9);
    assert.is(after.probesCompleted - before.probesCompleted, 21);
    assert.is(w.sink.servers.get('web/rs2')?.state, 'up');
    assert.is(w.sink.servers.get('web/rs1')?.state, 'down');
  } finally {
    await w.monitor.close();
  }
});

concurrency('more due probes than slots: they wait, and their timeout starts when they do', async () => {
  const config = farm(
    {},
    { maxConcurrent: 1, defaults: { intervalMs: 1000, timeoutMs: 100, rise: 1, fall: 1, jitterMs: 0 } },
  );
  const w = await world(config, 1, new MemoryHealthSink(), 60);
  try {
    // All three are due at 0; each takes 60 ms and one runs at a time, so the third starts at 120, later
    // than its timeout would allow if that ran from when it was asked for.
    assert.equal([w.monitor.stats().running, w.monitor.stats().queued], [1, 2]);
    await w.run(2000);
    assert.is(w.monitor.stats().timeouts, 0, 'queued probes did not time out while waiting');
    assert.is(w.monitor.stats().probesCompleted, 6);
    assert.equal(
      [...w.sink.servers.values()].map((r) => r.state),
      ['up', 'up', 'up'],
    );
  } finally {
    await w.monitor.close();
  }
});

concurrency.run();

// ---
const self = suite('self-monitoring');

self('health score from link carriers and gateway reachability, published on change', async () => {
  const config = farm(
    {},
    {
      self: {
        links: [
          { role: 'client', link: 'client0', weight: 40 },
          { role: 'server', link: 'server0', weight: 40 },
          { role: 'heartbeat', link: 'hb0', weight: 10 },
        ],
        gateway: { address: GATEWAY, weight: 10, rise: 1, fall: 1 },
      },
    },
  );
  const w = await world(config);
  try {
    assert.is(w.sink.health?.score, 100);
    w.net.cut('b', 'hb0');
    await w.run(10);
    assert.is(w.sink.health?.score, 90);
    w.pinger.setDown(GATEWAY);
    await w.run(200);
    assert.is(w.sink.health?.score, 80);
    assert.equal(
      w.sink.health?.components.filter((c) => !c.healthy).map((c) => c.name),
      ['link:heartbeat', 'gateway'],
    );
    w.net.restore('b', 'hb0');
    w.pinger.setUp(GATEWAY, { rttMs: 1 });
    await w.run(200);
    assert.is(w.sink.health?.score, 100);
    assert.equal(
      w.sink.log.filter((e) => e.type === 'health').map((e) => (e.type === 'health' ? e.record.score : -1)),
      [100, 90, 80, 90, 100],
    );
  } finally {
    await w.monitor.close();
  }
});

self.run();

// ---
const lifecycle = suite('start, reload, close');

lifecycle(
  'reload: a new server appears, an unchanged one keeps its state, a bad config is refused',
  async () => {
    const w = await world(farm());
    try {
      w.pinger.setDown(RS[0] as string);
      await w.run(400);
      assert.is(w.sink.servers.get('web/rs1')?.state, 'down');
      const bigger = farm({
        servers: [...RS, '198.51.100.14'].map((address, i) => ({ name: `rs${i + 1}`, address })),
      });
      w.pinger.setUp('198.51.100.14', { rttMs: 1 });
      w.source.set(bigger);
      await w.run(10);
      assert.equal(serverLog(w.sink).slice(-1), ['rs4 up initial']);
      assert.is(w.sink.servers.get('web/rs1')?.state, 'down', 'rs1 kept its state');
      w.source.set({ services: [{ name: 'web', checks: [{ kind: 'http', expectStatus: [700] }] }] });
      await w.run(10);
      assert.is(w.monitor.stats().rejectedConfigs, 1);
      assert.ok(w.logs.some((l) => l.level === 'error' && /configuration refused/.test(l.message)));
      await w.run(500);
      assert.ok(
        w.monitor.stats().probesCompleted > 0 && w.sink.servers.size === 4,
        'the old config stays in force',
      );
    } finally {
      await w.monitor.close();
    }
  },
);

lifecycle('close aborts probes in flight, flushes the sink and stops all timers', async () => {
  const w = await world(farm());
  for (const a of RS) w.pinger.setUp(a, { rttMs: 40 });
  await w.run(120);
  assert.ok(w.monitor.stats().running > 0);
  await w.monitor.close();
  assert.is(w.monitor.stats().running, 0);
  await w.pinger.close();
  await w.net.node('a').close();
  assert.is(w.clock.pendingTimers(), 0, 'no timer left armed');
  await w.monitor.close(); // twice is fine
});

lifecycle('an abort signal closes the monitor', async () => {
  const clock = new SimClock();
  const pinger = new SimPinger({ clock, rng: new Rng(3) });
  const controller = new AbortController();
  const monitor = await startMonitor(
    { clock, pinger },
    new StaticConfigSource(farm()),
    new MemoryHealthSink(),
    {
      signal: controller.signal,
    },
  );
  controller.abort();
  await monitor.close();
  assert.is(clock.pendingTimers(), 0);
});

lifecycle('refused at start: bad config, missing drivers, aborted signal', async () => {
  const clock = new SimClock();
  const pinger = new SimPinger({ clock, rng: new Rng(3) });
  const sink = new MemoryHealthSink();
  await rejects(
    startMonitor(
      { clock, pinger },
      new StaticConfigSource(JSON.parse('{"services":[{"name":"web","onFall":"drop"}]}')),
      sink,
    ),
    (e) => {
      return (
        e instanceof ConfigFieldError && e.field === 'services[0].onFall' && /got 'drop'/.test(e.message)
      );
    },
  );
  await rejects(
    startMonitor(
      { clock, pinger },
      new StaticConfigSource({ self: { links: [{ role: 'client', link: 'client0' }] } }),
      sink,
    ),
    (e) => MonitorError.is(e, 'MONITOR_MISSING_DRIVER'),
  );
  await rejects(
    startMonitor({ clock, pinger }, new StaticConfigSource(farm()), sink, { signal: AbortSignal.abort() }),
    (e) => e instanceof Error,
  );
});

lifecycle('a record the sink refuses is logged and offered again; the monitor goes on', async () => {
  const memory = new MemoryHealthSink();
  let failures = 0;
  const flaky: HealthSink = {
    server: (r) => (failures++ < 2 ? Promise.reject(new Error('journal busy')) : memory.server(r)),
    serverRemoved: (r) => memory.serverRemoved(r),
    quorum: (r) => memory.quorum(r),
    sorry: (r) => memory.sorry(r),
    applianceHealth: (r) => memory.applianceHealth(r),
  };
  const w = await world(farm(), 1, flaky);
  try {
    assert.is(w.monitor.stats().sinkErrors, 2);
    assert.ok(
      w.logs.some((l) => l.level === 'error' && /health sink refused a server record/.test(l.message)),
    );
    assert.equal([...memory.servers.keys()], ['web/rs3']);
    await w.run(1000);
    assert.equal(
      [...memory.servers.keys()].sort(),
      ['web/rs1', 'web/rs2', 'web/rs3'],
      'refused records offered again',
    );
    w.pinger.setDown(RS[0] as string);
    await w.run(400);
    assert.is(memory.servers.get('web/rs1')?.state, 'down');
  } finally {
    await w.monitor.close();
  }
});

lifecycle.run();
