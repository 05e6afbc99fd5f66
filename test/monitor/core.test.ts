/** The pure monitor core in virtual time: scheduling, rise/fall, timeouts, quorum, sorry server, reload, score. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveConfig } from '../../firmware/monitor/config.ts';
import { initialState, nextDeadline, step } from '../../firmware/monitor/core.ts';
import { deadlineOf } from '../../firmware/monitor/core-draft.ts';
import { MonitorError } from '../../firmware/monitor/errors.ts';
import { Rng } from '../../hal/sim/rng.ts';
import { FAIL, Harness, OK, type ProbeAction } from './support/core-harness.ts';

const server = (name: string, weight = 1) => ({
  name,
  address: `198.51.100.${10 + Number(name.slice(2))}`,
  weight,
});
const doc = (service: Record<string, unknown> = {}, defaults: Record<string, unknown> = {}) => ({
  defaults: { intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3, ...defaults },
  services: [{ name: 'web', port: 80, checks: [{ kind: 'tcp' }], servers: [server('rs1')], ...service }],
});
const serverRecords = (h: Harness, since = 0) =>
  h.actions('server', since).map((e) => ({ at: e.at, ...e.action.record }));

// ---
const scheduling = suite('scheduling');

scheduling('first probes are spread by seeded jitter; the same seed gives the same schedule', () => {
  const servers = Array.from({ length: 20 }, (_, i) => server(`rs${i + 1}`));
  const firstProbes = (seed: number): number[] => {
    const h = new Harness(doc({ servers }), seed);
    h.runUntil(999);
    return h.actions('probe').map((e) => e.at);
  };
  const a = firstProbes(7);
  assert.is(a.length, 20);
  for (const t of a) assert.ok(t >= 0 && t < 1000, `first probe at ${t}`);
  assert.ok(new Set(a.map((t) => Math.floor(t / 100))).size >= 5, `not spread: ${a.join(', ')}`);
  assert.equal(firstProbes(7), a, 'seed 7 replays');
  assert.not.equal(firstProbes(8), a, 'seed 8 differs');
});

scheduling('probes start every interval from the previous start, whatever the latency', () => {
  const h = new Harness(doc({}, { jitterMs: 0 }));
  h.responder = () => ({ afterMs: 120, result: OK });
  h.runUntil(4500);
  assert.equal(
    h.actions('probe').map((e) => e.at),
    [0, 1000, 2000, 3000, 4000],
  );
});

scheduling('interval down to 100 ms', () => {
  const h = new Harness(doc({}, { intervalMs: 100, timeoutMs: 80, jitterMs: 0 }));
  h.runUntil(1000);
  assert.is(h.actions('probe').length, 11);
});

scheduling('a probe that overruns its interval is never overlapped: the missed slot is skipped', () => {
  const h = new Harness(doc({}, { intervalMs: 1000, timeoutMs: 5000, jitterMs: 0 }));
  h.responder = () => ({ afterMs: 1500, result: OK });
  h.runUntil(4000);
  assert.equal(
    h.actions('probe').map((e) => e.at),
    [0, 2000, 4000],
  );
});

scheduling('after a stall (late ticks) checks keep their jittered phases instead of bunching up', () => {
  const servers = Array.from({ length: 10 }, (_, i) => server(`rs${i + 1}`));
  const h = new Harness(doc({ servers }, { intervalMs: 1000, timeoutMs: 500 }), 5);
  h.runUntil(999);
  const phases = h.actions('probe').map((e) => e.at % 1000);
  // The event loop stalls for 2.5 s: one late tick, every check overdue.
  h.feed({ type: 'tick' }, 3500);
  h.runUntil(4999);
  const after = h.actions('probe', 4000).map((e) => e.at % 1000);
  assert.equal(after.sort(), [...phases].sort(), 'the same phases as before the stall');
});

scheduling('retryMs: after a failure of an up check the next probe comes sooner', () => {
  const h = new Harness(doc({}, { jitterMs: 0, retryMs: 200 }));
  h.responder = (_p, now) => (now < 1000 ? OK : FAIL());
  h.runUntil(3000);
  // fails at 1000, 1200, 1400 (down: back to the interval) then 2400.
  assert.equal(
    h.actions('probe').map((e) => e.at),
    [0, 1000, 1200, 1400, 2400],
  );
});

scheduling('with tickMs, due probes start together at its next multiple; timeouts fire exactly', () => {
  const servers = Array.from({ length: 30 }, (_, i) => server(`rs${i + 1}`));
  const h = new Harness(doc({ servers }, { intervalMs: 1000, timeoutMs: 503, fall: 1 }), 3, 10);
  h.responder = (p, now) => (p.target.server === 'rs1' && now >= 1000 ? 'hang' : OK);
  h.runUntil(3000);
  const starts = h.actions('probe').map((e) => e.at);
  for (const t of starts) assert.is(t % 10, 0, `a probe started at ${t}`);
  assert.ok(new Set(starts).size < starts.length, 'probes due close together share a tick');
  const hung = h.actions('probe').filter((e) => e.action.target.server === 'rs1' && e.at >= 1000);
  assert.ok(hung.length >= 2);
  assert.equal(
    h.actions('abort').map((e) => e.at),
    hung.map((e) => e.at + 503).filter((t) => t <= 3000),
    'each timeout at its start + 503 ms, off the 10 ms grid',
  );
  assert.throws(
    () => initialState(1, 0, -1),
    (e: unknown) => MonitorError.is(e, 'MONITOR_INVALID_CONFIG'),
  );
});

scheduling('time may not go backwards; malformed now is refused', () => {
  const s = step(initialState(1, 100), { type: 'tick' }, 100).state;
  assert.throws(
    () => step(s, { type: 'tick' }, 99),
    (e: unknown) => MonitorError.is(e, 'MONITOR_TIME_BACKWARDS'),
  );
  assert.throws(
    () => step(s, { type: 'tick' }, Number.NaN),
    (e: unknown) => MonitorError.is(e, 'MONITOR_INVALID_EVENT'),
  );
});

scheduling('the state passed in is never changed', () => {
  const first = step(
    initialState(1, 0),
    { type: 'configure', plan: resolveConfig(doc({}, { jitterMs: 0 })) },
    0,
  ).state;
  const frozen = JSON.stringify([...first.checks].map((c) => ({ ...c, plan: undefined })));
  step(first, { type: 'tick' }, 0);
  assert.is(JSON.stringify([...first.checks].map((c) => ({ ...c, plan: undefined }))), frozen);
  assert.is(nextDeadline(first), 0);
});

scheduling.run();

// ---
const hysteresis = suite('rise and fall');

hysteresis('fall consecutive failures take a server down (weight 0), rise successes restore it', () => {
  const h = new Harness(doc({}, { jitterMs: 0 }));
  h.responder = (_p, now) => (now >= 2000 && now < 6000 ? FAIL('connect refused') : OK);
  h.runUntil(10_000);
  const records = serverRecords(h);
  assert.equal(
    records.map((r) => [r.at, r.state, r.action, r.weight, r.cause]),
    [
      [0, 'up', 'restore', 1, 'initial'],
      [4000, 'down', 'quiesce', 0, 'fall'],
      [7000, 'up', 'restore', 1, 'rise'],
    ],
  );
  assert.match(records[1]?.reason ?? '', /tcp: connect refused/);
});

hysteresis('flapping every other probe never changes the state', () => {
  const h = new Harness(doc({}, { jitterMs: 0 }));
  let n = 0;
  h.responder = () => (n++ % 2 === 0 ? FAIL() : OK);
  h.runUntil(20_000);
  assert.is(serverRecords(h).length, 1, 'only the initial record');
  assert.is(h.actions('check').length, 0, 'no check transitions logged');
});

hysteresis('flapping in bursts: down after 3 failures, up after 2 successes, once each', () => {
  const h = new Harness(doc({}, { jitterMs: 0 }));
  const pattern = [1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0, 1];
  let n = 0;
  h.responder = () => (pattern[n++ % pattern.length] ? OK : FAIL());
  h.runUntil(12_000);
  assert.equal(
    serverRecords(h).map((r) => [r.at, r.state]),
    [
      [0, 'up'],
      [6000, 'down'],
      [10_000, 'up'],
    ],
  );
});

hysteresis("onFall 'remove' removes the server", () => {
  const h = new Harness(doc({ onFall: 'remove' }, { jitterMs: 0, fall: 1 }));
  h.responder = () => FAIL();
  h.runUntil(0);
  assert.equal(
    serverRecords(h).map((r) => [r.state, r.action, r.weight]),
    [
      ['up', 'restore', 1],
      ['down', 'remove', 0],
    ],
  );
});

hysteresis('startDown: servers begin down and need rise good probes', () => {
  const h = new Harness(doc({ startDown: true }, { jitterMs: 0 }));
  h.runUntil(1000);
  assert.equal(
    serverRecords(h).map((r) => [r.at, r.state, r.cause]),
    [
      [0, 'down', 'initial'],
      [1000, 'up', 'rise'],
    ],
  );
});

hysteresis('a server is up only while all its checks are; maintenance acts on its first probe', () => {
  const h = new Harness(
    doc(
      { servers: [{ ...server('rs1'), checks: [{ kind: 'maintenance', path: '/run/maint/{server}' }] }] },
      { jitterMs: 0 },
    ),
  );
  h.responder = (p, now) =>
    p.kind.kind === 'maintenance' && now >= 3000 && now < 5000 ? FAIL('maintenance: file exists') : OK;
  h.runUntil(6000);
  assert.equal(
    serverRecords(h).map((r) => [r.at, r.state, r.reason]),
    [
      [0, 'up', 'all checks up'],
      [3000, 'down', 'maintenance: maintenance: file exists'],
      [5000, 'up', 'all checks up'],
    ],
  );
});

hysteresis.run();

// ---
const timeouts = suite('timeouts');

timeouts('a hung probe is aborted at its timeout and counts as a failure; its late result is ignored', () => {
  const h = new Harness(doc({}, { jitterMs: 0, fall: 1 }));
  h.responder = (_p, now) => (now === 1000 ? 'hang' : OK);
  h.runUntil(1600);
  const aborts = h.actions('abort');
  assert.equal(
    aborts.map((e) => e.at),
    [1500],
  );
  const hung = h.actions('probe').find((e) => e.at === 1000)?.action as ProbeAction;
  assert.is(aborts[0]?.action.probe, hung.probe);
  assert.equal(
    serverRecords(h).map((r) => [r.at, r.state, r.reason]),
    [
      [0, 'up', 'all checks up'],
      [1500, 'down', 'tcp: timed out after 500 ms'],
    ],
  );
  h.feed({ type: 'result', check: hung.check, probe: hung.probe, result: OK }, 1700);
  assert.is(h.state.counters.staleResults, 1);
  assert.is(h.state.counters.timeouts, 1);
});

timeouts('a queued probe has no timeout until it starts; then it runs from the start', () => {
  const h = new Harness(doc({}, { jitterMs: 0, fall: 1 }));
  h.responder = () => 'hang';
  h.runUntil(0);
  const p = h.actions('probe')[0]?.action as ProbeAction;
  h.feed({ type: 'queued', check: p.check, probe: p.probe }, 0);
  assert.is(nextDeadline(h.state), undefined, 'nothing to wake up for');
  h.runUntil(5000);
  assert.is(h.actions('abort').length, 0);
  h.feed({ type: 'started', check: p.check, probe: p.probe }, 5000);
  h.runUntil(5499);
  assert.is(h.actions('abort').length, 0);
  h.runUntil(5500);
  assert.is(h.actions('abort').length, 1);
  h.runUntil(6000);
  assert.equal(
    h.actions('probe').map((e) => e.at),
    [0, 6000],
    'one interval after the start',
  );
});

timeouts.run();

// ---
const quorum = suite('quorum and sorry server');

quorum('quorum with hysteresis: lost below quorum - h, met again at quorum + h', () => {
  const servers = ['rs1', 'rs2', 'rs3', 'rs4'].map((n) => server(n));
  const h = new Harness(doc({ servers, quorum: 3, quorumHysteresis: 1 }, { jitterMs: 0, fall: 1, rise: 1 }));
  const down = new Set<string>();
  h.responder = (p) => (down.has(p.target.server) ? FAIL() : OK);
  const at = (t: number, ...names: string[]): void => {
    h.runUntil(t - 1);
    down.clear();
    for (const n of names) down.add(n);
    h.runUntil(t);
  };
  at(1000, 'rs1'); // live 3
  at(2000, 'rs1', 'rs2'); // live 2 = quorum - h: still met
  at(3000, 'rs1', 'rs2', 'rs3'); // live 1: lost
  at(4000, 'rs1', 'rs2'); // live 2: not yet
  at(5000, 'rs1'); // live 3: not yet (needs 4)
  at(6000); // live 4: met
  assert.equal(
    h
      .actions('quorum')
      .map((e) => [e.at, e.action.record.met, e.action.record.liveWeight, e.action.record.cause]),
    [
      [0, true, 4, 'initial'],
      [3000, false, 1, 'transition'],
      [6000, true, 4, 'transition'],
    ],
  );
});

quorum('weights count toward the quorum', () => {
  const servers = [server('rs1', 5), server('rs2', 1), server('rs3', 1)];
  const h = new Harness(doc({ servers, quorum: 5 }, { jitterMs: 0, fall: 1, rise: 1 }));
  h.responder = (p, now) => (p.target.server === 'rs1' && now >= 1000 ? FAIL() : OK);
  h.runUntil(1000);
  assert.equal(
    h.actions('quorum').map((e) => [e.at, e.action.record.met, e.action.record.liveWeight]),
    [
      [0, true, 7],
      [1000, false, 2],
    ],
  );
});

quorum('sorry server on when no server is up, off when one comes back', () => {
  const servers = [server('rs1'), server('rs2')];
  const h = new Harness(
    doc({ servers, sorryServer: { address: '198.51.100.50' } }, { jitterMs: 0, fall: 1, rise: 1 }),
  );
  h.responder = (p, now) => {
    if (now >= 1000 && now < 3000) return FAIL();
    if (now >= 3000 && now < 4000 && p.target.server === 'rs1') return FAIL();
    return OK;
  };
  h.runUntil(4000);
  assert.equal(
    h
      .actions('sorry')
      .map((e) => [
        e.at,
        e.action.record.active,
        e.action.record.address,
        e.action.record.port,
        e.action.record.cause,
      ]),
    [
      [0, false, '198.51.100.50', 80, 'initial'],
      [1000, true, '198.51.100.50', 80, 'transition'],
      [3000, false, '198.51.100.50', 80, 'transition'],
    ],
  );
});

quorum.run();

// ---
const reload = suite('reload');

reload('an unchanged check keeps its state and counts: no record, no new jitter', () => {
  const h = new Harness(doc({}, { jitterMs: 0 }));
  h.responder = (_p, now) => (now >= 1000 ? FAIL() : OK);
  h.runUntil(3500); // down at 3000
  const before = serverRecords(h).length;
  h.reconfigure(doc({ servers: [server('rs1'), server('rs2')] }, { jitterMs: 0 }));
  const after = serverRecords(h);
  assert.is(after.length, before + 1, 'only rs2 is new');
  assert.equal([after.at(-1)?.server, after.at(-1)?.cause], ['rs2', 'initial']);
  assert.is(h.state.checks.at(0)?.up, false, 'rs1 stays down');
  assert.is(h.state.checks.at(0)?.failStreak, 3);
});

reload('a changed check starts afresh; a changed weight is reported; a removed server is forgotten', () => {
  const h = new Harness(doc({ servers: [server('rs1'), server('rs2')] }, { jitterMs: 0 }));
  h.responder = () => FAIL();
  h.runUntil(2500);
  assert.is(h.state.checks.at(0)?.up, false);
  const since = h.now;
  h.reconfigure(doc({ checks: [{ kind: 'tcp', port: 8080 }], servers: [server('rs1', 3)] }, { jitterMs: 0 }));
  assert.equal(
    serverRecords(h, since).map((r) => [r.server, r.state, r.weight, r.cause]),
    [['rs1', 'up', 3, 'reconfigured']],
  );
  assert.equal(
    h.actions('server-removed', since).map((e) => e.action.server),
    ['rs2'],
  );
});

reload('a probe in flight across a reload still counts when its check was kept', () => {
  const h = new Harness(doc({ servers: [server('rs2')] }, { jitterMs: 0, fall: 1 }));
  h.responder = () => 'hang';
  h.runUntil(0);
  const p = h.actions('probe')[0]?.action as ProbeAction;
  // rs1 is put before rs2: rs2's check moves to index 1.
  h.reconfigure(doc({ servers: [server('rs1'), server('rs2')] }, { jitterMs: 0, fall: 1 }));
  h.feed({ type: 'result', check: p.check, probe: p.probe, result: FAIL('late but valid') }, 100);
  assert.is(h.state.counters.staleResults, 0);
  assert.match(serverRecords(h).at(-1)?.reason ?? '', /late but valid/);
});

reload.run();

// ---
const score = suite('appliance health score');

const selfDoc = (extra: Record<string, unknown> = {}) => ({
  defaults: { intervalMs: 1000, timeoutMs: 500, rise: 1, fall: 1, jitterMs: 0 },
  self: {
    links: [
      { role: 'client', link: 'client0', weight: 30 },
      { role: 'server', link: 'server0', weight: 30 },
      { role: 'heartbeat', link: 'hb0', weight: 10 },
    ],
    gateway: { address: '198.51.100.1', weight: 20 },
    services: [{ name: 'journal', weight: 10, port: 7000, check: { kind: 'tcp' } }],
    ...extra,
  },
});

score('weighted score from link carriers, gateway reachability and service liveness', () => {
  const h = new Harness(selfDoc());
  assert.equal(
    h.actions('score').map((e) => e.action.record.score),
    [30],
    'links not seen yet count as unhealthy (gateway and journal are presumed up until probed)',
  );
  h.feed({ type: 'carrier', links: { client0: true, server0: true, hb0: true, lo: true } }, 0);
  assert.is(h.state.score, 100);
  let gatewayUp = true;
  h.responder = (p) => (p.target.server === 'gateway' && !gatewayUp ? FAIL('no echo reply') : OK);
  h.runUntil(500);
  h.feed({ type: 'carrier', links: { hb0: false } }, 600);
  assert.is(h.state.score, 90);
  gatewayUp = false;
  h.runUntil(1000);
  assert.is(h.state.score, 70);
  const last = h.actions('score').at(-1)?.action.record;
  assert.equal(
    last?.components.filter((c) => !c.healthy).map((c) => [c.name, c.kind, c.detail]),
    [
      ['link:heartbeat', 'link', 'hb0: carrier down'],
      ['gateway', 'gateway', 'no echo reply'],
    ],
  );
  const targets = h
    .actions('probe')
    .map((e) => `${e.action.kind.kind} ${e.action.target.address}:${e.action.target.port}`);
  assert.ok(
    targets.includes('icmp 198.51.100.1:0') && targets.includes('tcp 127.0.0.1:7000'),
    targets.join(', '),
  );
});

score('no components: 100; scores are emitted only when something changes', () => {
  const h = new Harness(doc());
  assert.equal(
    h.actions('score').map((e) => [e.action.record.score, e.action.initial]),
    [[100, true]],
  );
  h.runUntil(5000);
  assert.is(h.actions('score').length, 1);
});

score.run();

// ---
const seeded = suite('seeded fault schedules');

seeded('invariants hold over 200 seeded schedules of answers, failures and hangs', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const rng = new Rng(seed);
    const rise = rng.int(1, 4);
    const fall = rng.int(1, 4);
    const quorum = rng.int(0, 4);
    const hysteresis = rng.int(0, quorum);
    const pFail = rng.float() * 0.6;
    const pHang = rng.float() * 0.2;
    const servers = ['rs1', 'rs2', 'rs3', 'rs4'].map((n) => server(n, rng.int(1, 2)));
    const where = `seed=${seed} rise=${rise} fall=${fall} quorum=${quorum}±${hysteresis}`;
    const h = new Harness(
      doc(
        { servers, quorum, quorumHysteresis: hysteresis, startDown: rng.chance(0.5) },
        { intervalMs: 100, timeoutMs: 50, rise, fall },
      ),
      seed,
      seed % 2 === 0 ? 10 : 0,
    );
    // Each server's outcomes in probe order ('hang' counts as a failure at its timeout).
    const history = new Map<string, boolean[]>();
    h.responder = (p) => {
      const roll = rng.float();
      const outcome = roll < pHang ? 'hang' : roll < pHang + pFail ? FAIL() : OK;
      const list = history.get(p.target.server) ?? [];
      list.push(outcome === OK);
      history.set(p.target.server, list);
      return outcome;
    };
    h.runUntil(5000);
    // The tick's deadline table agrees with the checks it stands for.
    [...h.state.checks].forEach((c, i) => {
      assert.is(h.state.deadlines.at(i), deadlineOf(c, h.state.tickMs), `${where}: deadline of check ${i}`);
    });
    assert.is(h.state.deadlines.length, h.state.checks.length, where);
    const last = new Map<string, string>();
    for (const { action } of h.actions('server')) {
      const r = action.record;
      const before = last.get(r.server);
      if (before !== undefined) assert.is.not(r.state, before, `${where}: ${r.server} repeated ${r.state}`);
      last.set(r.server, r.state);
    }
    // The final state agrees with the streak rules applied to the outcome history.
    for (const [name, outcomes] of history) {
      const check = [...h.state.checks].find((c) => c.target.server === name);
      if (check === undefined || check.probe !== undefined) continue;
      let okRun = 0;
      let failRun = 0;
      for (const ok of outcomes) {
        okRun = ok ? okRun + 1 : 0;
        failRun = ok ? 0 : failRun + 1;
      }
      assert.equal([check.okStreak, check.failStreak], [okRun, failRun], `${where}: streaks of ${name}`);
    }
    // Quorum changes only across its hysteresis band.
    for (const { action } of h.actions('quorum')) {
      const r = action.record;
      if (r.cause !== 'transition') continue;
      if (r.met) assert.ok(r.liveWeight >= quorum + hysteresis, `${where}: met at ${r.liveWeight}`);
      else assert.ok(r.liveWeight < quorum - hysteresis, `${where}: lost at ${r.liveWeight}`);
    }
    // Sorry server exactly when nothing is up (no sorry server configured here: checked via state).
    for (const svc of h.state.services) assert.is(svc.sorryActive, svc.upCount === 0, where);
  }
});

seeded.run();
