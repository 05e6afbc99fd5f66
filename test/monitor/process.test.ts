/**
 * The monitor process (main.ts) in the testbed's appliance namespace, probing real servers: the testbed's
 * own on :80 and farm ports on rs1 that the test closes and opens. Transitions reach the sink (JSON lines
 * on stdout) and the alert script; the quorum and the sorry server follow; a hung script check is killed
 * at its timeout without holding up the others; the links' carrier and the gateway make the health score;
 * SIGHUP reloads, SIGTERM stops it cleanly, and a bad configuration stops it with a clear message.
 */
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { SinkEntry } from '../../firmware/monitor/sinks.ts';
import { canRun } from '../support/needs.ts';
import { startTestbed, type Testbed } from '../support/testbed.ts';
import type { LineChild } from './support/line-child.ts';
import { isServer, MonitorProcess } from './support/monitor-process.ts';
import { startFarm } from './support/testbed-helpers.ts';

const RS1 = '198.51.100.11';
const RS2 = '198.51.100.12';
const B_SERVER = '198.51.100.3';
const FARM = [8001, 8002, 8003, 8004];

interface World {
  tb: Testbed;
  farm: LineChild;
  dir: string;
  alerts: string;
  hungPids: string;
  config: Record<string, unknown>;
  monitor: MonitorProcess;
}

/**
 * Writes an executable script by renaming a new file over the old one: rewriting it in place while the
 * monitor runs it (an alert during a reload) would fail with ETXTBSY.
 */
function script(path: string, text: string): string {
  const next = `${path}.new`;
  writeFileSync(next, text);
  chmodSync(next, 0o755);
  renameSync(next, path);
  return path;
}

function configFor(
  dir: string,
  alerts: string,
  hungPids: string,
  farmPorts: number[],
): Record<string, unknown> {
  return {
    defaults: { intervalMs: 100, timeoutMs: 80, rise: 2, fall: 2 },
    maxConcurrent: 8,
    services: [
      {
        name: 'web',
        port: 80,
        checks: [{ kind: 'http', bodyRegex: '^rs\\d+\\n$' }],
        servers: [
          { name: 'rs1', address: RS1 },
          { name: 'rs2', address: RS2 },
        ],
      },
      {
        name: 'farm',
        quorum: 2,
        sorryServer: { address: RS2, port: 80 },
        checks: [{ kind: 'tcp' }],
        servers: farmPorts.map((port, i) => ({ name: `f${i + 1}`, address: RS1, port })),
      },
      {
        name: 'hung',
        port: 80,
        checks: [
          {
            kind: 'script',
            path: script(join(dir, 'hung.sh'), `#!/bin/sh\necho $$ >> ${hungPids}\nexec sleep 30\n`),
            intervalMs: 300,
            timeoutMs: 200,
            killGraceMs: 100,
            fall: 1,
          },
        ],
        servers: [{ name: 'h1', address: RS1 }],
      },
    ],
    self: {
      links: [
        { role: 'client', link: 'client0', weight: 30 },
        { role: 'server', link: 'server0', weight: 30 },
        { role: 'heartbeat', link: 'hb0', weight: 20 },
      ],
      gateway: { address: B_SERVER, weight: 20, intervalMs: 200, timeoutMs: 150, rise: 1, fall: 2 },
    },
    alerts: {
      script: {
        path: script(
          join(dir, 'alert.sh'),
          `#!/bin/sh\n{ env | grep ^TANDEM_ | sort; echo ---; } >> ${alerts}\n`,
        ),
      },
    },
  };
}

let world: Promise<World> | undefined;

async function build(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'tnd-monproc-'));
  const alerts = join(dir, 'alerts.log');
  const hungPids = join(dir, 'hung.pids');
  const tb = await startTestbed({ realServers: 2 });
  const farm = await startFarm(tb.ns('rs1'));
  await farm.call({ op: 'listen', host: RS1, ports: FARM, mode: 'tcp' });
  const config = configFor(dir, alerts, hungPids, FARM.slice(0, 3));
  const monitor = MonitorProcess.start(tb.ns('a'), dir, config);
  return { tb, farm, dir, alerts, hungPids, config, monitor };
}

const get = (): Promise<World> => {
  world ??= build();
  return world;
};

const state = (
  m: MonitorProcess,
  type: SinkEntry['type'],
  key: (e: SinkEntry) => boolean,
): SinkEntry | undefined =>
  m.records
    .map((r) => r.entry)
    .filter((e) => e.type === type && key(e))
    .at(-1);

const alertBlocks = (w: World): string[] => {
  try {
    return readFileSync(w.alerts, 'utf8')
      .split('---\n')
      .filter((b) => b.trim() !== '');
  } catch {
    return [];
  }
};

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

if (canRun('the monitor process on the testbed', { root: true, tools: ['ip', 'socat'] })) {
  // ---
  const servers = suite('real servers');

  servers('every server is reported up at start; quorum met, sorry server off, health 100', async () => {
    const { monitor: m } = await get();
    for (const [svc, name] of [
      ['web', 'rs1'],
      ['web', 'rs2'],
      ['farm', 'f1'],
      ['farm', 'f2'],
      ['farm', 'f3'],
    ] as const) {
      const r = await m.waitFor(isServer(svc, name), 15_000);
      assert.ok(
        r.entry.type === 'server' && r.entry.record.state === 'up' && r.entry.record.cause === 'initial',
      );
    }
    await m.waitFor((e) => e.type === 'health' && e.record.score === 100, 5000);
    const q = state(m, 'quorum', () => true);
    assert.ok(q?.type === 'quorum' && q.record.met && q.record.liveWeight === 3);
    const s = state(m, 'sorry', () => true);
    assert.ok(s?.type === 'sorry' && !s.record.active);
  });

  servers(
    'a server that stops listening goes to weight 0 within fall intervals; the alert script sees it',
    async () => {
      const w = await get();
      const m = w.monitor;
      const from = m.records.length;
      const t0 = performance.now();
      await w.farm.call({ op: 'close', ports: [8001] });
      const down = await m.waitFor(isServer('farm', 'f1', 'down'), 3000, from);
      assert.ok(down.entry.type === 'server');
      if (down.entry.type === 'server') {
        assert.equal(
          [down.entry.record.action, down.entry.record.weight, down.entry.record.cause],
          ['quiesce', 0, 'fall'],
        );
        assert.match(down.entry.record.reason, /tcp: connect to 198\.51\.100\.11:8001: ECONNREFUSED/);
      }
      const ms = down.at - t0;
      assert.ok(ms < 2 * 100 + 80 + 150, `weight 0 after ${ms.toFixed(0)} ms`);
      await until('the alert', () => alertBlocks(w).some((b) => b.includes('TANDEM_SERVER=f1')), 3000);
      const block = alertBlocks(w).find((b) => b.includes('TANDEM_SERVER=f1')) ?? '';
      for (const line of [
        'TANDEM_EVENT=server-down',
        'TANDEM_SERVICE=farm',
        `TANDEM_ADDRESS=${RS1}`,
        'TANDEM_PORT=8001',
        'TANDEM_STATE=down',
        'TANDEM_ACTION=quiesce',
        'TANDEM_WEIGHT=0',
        'TANDEM_SEVERITY=warning',
      ]) {
        assert.ok(block.split('\n').includes(line), `${line} in\n${block}`);
      }
      await w.farm.call({ op: 'listen', host: RS1, ports: [8001], mode: 'tcp' });
      const up = await m.waitFor(isServer('farm', 'f1', 'up'), 3000, from);
      assert.ok(
        up.entry.type === 'server' && up.entry.record.cause === 'rise' && up.entry.record.weight === 1,
      );
    },
  );

  servers('quorum lost and sorry server on when all go; both back when they return', async () => {
    const w = await get();
    const m = w.monitor;
    const from = m.records.length;
    await w.farm.call({ op: 'close', ports: [8001, 8002] });
    await m.waitFor((e) => e.type === 'quorum' && !e.record.met && e.record.liveWeight === 1, 3000, from);
    await w.farm.call({ op: 'close', ports: [8003] });
    await m.waitFor((e) => e.type === 'sorry' && e.record.active, 3000, from);
    await w.farm.call({ op: 'listen', host: RS1, ports: [8001, 8002, 8003], mode: 'tcp' });
    await m.waitFor((e) => e.type === 'sorry' && !e.record.active, 3000, from);
    await m.waitFor((e) => e.type === 'quorum' && e.record.met, 3000, from);
    await until('the alerts', () => alertBlocks(w).some((b) => b.includes('TANDEM_EVENT=quorum-met')), 3000);
    const events = alertBlocks(w).map((b) => /TANDEM_EVENT=(\S+)/.exec(b)?.[1]);
    for (const e of ['quorum-lost', 'sorry-on', 'sorry-off', 'quorum-met'])
      assert.ok(events.includes(e), `${e} in ${events.join(' ')}`);
  });

  servers('a hung script check is killed at its timeout, counts as down, and holds up nothing', async () => {
    const w = await get();
    const m = w.monitor;
    const down = await m.waitFor(isServer('hung', 'h1', 'down'), 3000);
    assert.ok(down.entry.type === 'server' && /timed out after 200 ms/.test(down.entry.record.reason));
    // The others were probed every 100 ms meanwhile: the web servers never left 'up'.
    assert.not.ok(
      m.records.some(
        (r) =>
          r.entry.type === 'server' && r.entry.record.service === 'web' && r.entry.record.state === 'down',
      ),
    );
  });

  servers.run();

  // ---
  const self = suite('self-monitoring');

  self('heartbeat link carrier and gateway reachability move the health score', async () => {
    const w = await get();
    const m = w.monitor;
    const from = m.records.length;
    await w.tb.exec('b', ['ip', 'link', 'set', 'hb0', 'down']);
    const low = await m.waitFor((e) => e.type === 'health' && e.record.score === 80, 3000, from);
    assert.ok(
      low.entry.type === 'health' &&
        low.entry.record.components.some((c) => c.name === 'link:heartbeat' && !c.healthy),
    );
    await w.tb.exec('b', ['ip', 'link', 'set', 'server0', 'down']); // the gateway (b's server address) goes too
    await m.waitFor((e) => e.type === 'health' && e.record.score === 60, 3000, from);
    await w.tb.exec('b', ['ip', 'link', 'set', 'hb0', 'up']);
    await w.tb.exec('b', ['ip', 'link', 'set', 'server0', 'up']);
    await m.waitFor((e) => e.type === 'health' && e.record.score === 100, 5000, from);
  });

  self.run();

  // ---
  const lifecycle = suite('reload and stop');

  lifecycle('SIGHUP reloads the file: a new server appears, the others keep their state', async () => {
    const w = await get();
    const m = w.monitor;
    const from = m.records.length;
    writeFileSync(join(w.dir, 'monitor.json'), JSON.stringify(configFor(w.dir, w.alerts, w.hungPids, FARM)));
    m.reload();
    const f4 = await m.waitFor(isServer('farm', 'f4'), 3000, from);
    assert.ok(f4.entry.type === 'server' && f4.entry.record.cause === 'initial');
    assert.not.ok(
      m.records.slice(from).some((r) => r.entry.type === 'server' && r.entry.record.server === 'f1'),
    );
  });

  lifecycle('SIGTERM stops it cleanly; the hung scripts it ran are gone', async () => {
    const w = await get();
    const { code } = await w.monitor.stop();
    assert.is(code, 0);
    assert.ok(w.monitor.logs.some((l) => l.msg === 'monitor stopped'));
    const pids = readFileSync(w.hungPids, 'utf8').trim().split('\n').map(Number);
    assert.ok(pids.length >= 2);
    for (const pid of pids) {
      let stat = '';
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      assert.ok(stat.split(') ')[1]?.startsWith('Z'), `hung script ${pid} still runs`);
    }
  });

  lifecycle('a bad configuration stops the process at start with a message naming the field', async () => {
    const w = await get();
    const bad = MonitorProcess.start(w.tb.ns('a'), w.dir, {
      services: [{ name: 'web', port: 80, checks: [{ kind: 'http', expectStatus: [700] }] }],
    });
    const { code } = await bad.exited;
    assert.is(code, 2);
    assert.ok(
      bad.logs.some((l) => /services\[0\]\.checks\[0\]\.expectStatus\[0\]: .*got 700/.test(l.msg)),
      JSON.stringify(bad.logs),
    );
  });

  lifecycle.after(async () => {
    if (!world) return;
    const w = await world.catch(() => undefined);
    world = undefined;
    if (!w) return;
    await w.monitor.stop();
    await w.farm.dispose();
    await w.tb.down();
    rmSync(w.dir, { recursive: true, force: true });
  });
  lifecycle.run();
}
