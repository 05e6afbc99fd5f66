/**
 * The supervisor's shell with real child processes (test/supervisor/fixtures/service.mjs): start order,
 * readiness, crash restarts, start timeouts, SIGTERM ignored, escalation to the cluster's control socket,
 * the simulated watchdog's reset, and the control socket.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Board } from '../../board/types.ts';
import { controlRequest } from '../../firmware/cluster/control.ts';
import { startSupervisorControl } from '../../firmware/supervisor/control.ts';
import { clusterAnswers } from '../../firmware/supervisor/services.ts';
import {
  EXIT_WATCHDOG_RESET,
  type RunnableService,
  type SupervisorHandle,
  type SupervisorOptions,
  startSupervisor,
} from '../../firmware/supervisor/supervisor.ts';
import type { Policy } from '../../firmware/supervisor/types.ts';
import { openWatchdog } from '../../firmware/supervisor/watchdog.ts';
import { LinuxClock } from '../../hal/clock/linux.ts';
import { SimWatchdog } from '../../hal/watchdog/sim.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'service.mjs');
const clock = new LinuxClock();

interface Ctx {
  dir: string;
  sup?: SupervisorHandle;
  lines: string[];
}

function svc(
  ctx: Ctx,
  name: string,
  o: {
    needs?: string[];
    critical?: boolean;
    args?: string[];
    escalation?: RunnableService['escalation'];
  } = {},
): RunnableService {
  return {
    name,
    critical: o.critical ?? false,
    needs: o.needs ?? [],
    escalation: o.escalation ?? (o.critical ? 'step-down' : 'none'),
    argv: [process.execPath, FIXTURE, '--name', name, '--events', join(ctx.dir, 'events'), ...(o.args ?? [])],
  };
}

const FAST: Partial<Policy> = {
  backoffInitialMs: 50,
  backoffMaxMs: 400,
  startTimeoutMs: 3000,
  stopTimeoutMs: 500,
  crashLimit: 4,
};

function start(
  ctx: Ctx,
  services: RunnableService[],
  extra: Partial<SupervisorOptions> = {},
): SupervisorHandle {
  ctx.sup = startSupervisor({
    services,
    policy: FAST,
    clock,
    log: (level, msg, fields) => ctx.lines.push(`${level} ${fields?.service ?? '-'} ${msg}`),
    stepDown: async () => false,
    feedEveryMs: 100,
    onServiceLine: (service, line) => ctx.lines.push(`line ${service} ${line}`),
    ...extra,
  });
  return ctx.sup;
}

const events = (ctx: Ctx): string[] => {
  try {
    return readFileSync(join(ctx.dir, 'events'), 'utf8').trim().split('\n');
  } catch {
    return [];
  }
};

async function until<T>(what: string, get: () => T, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const t0 = performance.now();
  for (;;) {
    const v = get();
    if (ok(v)) return v;
    if (performance.now() - t0 > timeoutMs)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function setup(name: string) {
  const s = suite<Ctx>(name, { dir: '', lines: [] });
  s.before.each((ctx) => {
    ctx.dir = mkdtempSync(join(tmpdir(), 'tnd-supervisor-'));
    ctx.lines = [];
    ctx.sup = undefined;
  });
  s.after.each(async (ctx) => {
    if (ctx.sup) {
      const pids = ctx.sup.pids();
      await Promise.race([ctx.sup.shutdown(), new Promise((r) => setTimeout(r, 5000))]);
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(ctx.dir, { recursive: true, force: true });
  });
  return s;
}

// ---

const order = setup('runner: start order, readiness, ordered stop');

order('dependents start after the cluster is ready; stop runs in reverse order', async (ctx) => {
  const sup = start(ctx, [
    svc(ctx, 'cluster', { critical: true, escalation: 'stop-watchdog', args: ['--ready-after', '300'] }),
    svc(ctx, 'forward', { needs: ['cluster'], critical: true }),
    svc(ctx, 'console', { needs: ['cluster'] }),
  ]);
  await sup.ready;
  const st = sup.status();
  assert.equal(
    st.services.map((s) => `${s.name}:${s.state}`),
    ['cluster:running', 'forward:running', 'console:running'],
  );
  assert.ok(st.services.every((s) => typeof s.pid === 'number' && alive(s.pid)));
  const started = events(ctx).map((l) => l.split(' ').slice(0, 2).join(' '));
  assert.is(started[0], 'cluster start');
  assert.ok(ctx.lines.includes('line cluster {"level":"info","msg":"cluster serving"}'), 'stderr forwarded');
  const pids = sup.pids();
  await sup.shutdown();
  const terms = events(ctx)
    .filter((l) => l.includes(' term '))
    .map((l) => l.split(' ')[0]);
  assert.equal(terms.slice(-1), ['cluster'], 'the cluster is stopped last');
  assert.equal(terms.length, 3);
  assert.ok(pids.every((p) => !alive(p)));
  assert.is(await sup.done, 0);
});

order('a service that ignores SIGTERM is killed after its stop timeout', async (ctx) => {
  const sup = start(ctx, [svc(ctx, 'stubborn', { args: ['--mode', 'ignore-term'] })]);
  await sup.ready;
  const pid = sup.status().services[0]?.pid as number;
  const t0 = performance.now();
  await sup.shutdown();
  assert.ok(performance.now() - t0 >= 450, 'waited for the stop timeout');
  assert.not.ok(alive(pid));
  assert.ok(ctx.lines.some((l) => l.includes('did not stop within 500 ms')));
});

order('a missing program is a crash (exit 127), then back-off', async (ctx) => {
  const sup = start(ctx, [{ ...svc(ctx, 'ghost'), argv: ['/nonexistent/tandem-program'] }]);
  await until(
    'a restart',
    () => sup.status().services[0],
    (s) => (s?.restarts ?? 0) >= 1,
  );
  assert.is(sup.status().services[0]?.lastExit?.code, 127);
});

order.run();

// ---

const crash = setup('runner: crashes, back-off, escalation');

crash('a crashing service is restarted until it stays up', async (ctx) => {
  const count = join(ctx.dir, 'count');
  const sup = start(ctx, [svc(ctx, 'flaky', { args: ['--crashes', '2', '--count-file', count] })]);
  await until(
    'two restarts and running',
    () => sup.status().services[0],
    (s) => s?.restarts === 2 && s.state === 'running',
  );
  assert.is(readFileSync(count, 'utf8'), '3');
  assert.ok(ctx.lines.some((l) => l.includes('exited with status 1; restarting in 50 ms')));
  assert.ok(ctx.lines.some((l) => l.includes('restarting in 100 ms')));
});

crash('never ready: killed at the start timeout and, after repeated tries, failed', async (ctx) => {
  const sup = start(ctx, [svc(ctx, 'mute', { args: ['--mode', 'never-ready'] })], {
    policy: { ...FAST, startTimeoutMs: 1500, crashLimit: 2 },
  });
  const s = await until(
    'failed',
    () => sup.status().services[0],
    (x) => x?.state === 'failed',
    8000,
  );
  assert.match(s?.reason ?? '', 'was not ready within 1500 ms');
  assert.is(s?.lastExit?.signal, 'SIGKILL');
  assert.is(events(ctx).filter((l) => l.startsWith('mute start')).length, 2);
});

crash('exit status 2 is not retried', async (ctx) => {
  const sup = start(ctx, [svc(ctx, 'misconfigured', { args: ['--mode', 'exit2'] })]);
  const s = await until(
    'failed',
    () => sup.status().services[0],
    (x) => x?.state === 'failed',
  );
  assert.match(s?.reason ?? '', 'usage or configuration error');
  assert.is(s?.restarts, 0);
  assert.ok(ctx.lines.includes('line misconfigured usage: bad option'));
});

crash(
  'a critical service that keeps crashing steps the node down through the cluster socket',
  async (ctx) => {
    const sock = join(ctx.dir, 'cluster.sock');
    const sup = start(
      ctx,
      [
        {
          ...svc(ctx, 'cluster', { critical: true, escalation: 'stop-watchdog', args: ['--control', sock] }),
          probe: () => clusterAnswers(sock),
        },
        svc(ctx, 'forward', {
          needs: ['cluster'],
          critical: true,
          args: ['--mode', 'crash', '--crash-after', '20'],
        }),
      ],
      {
        stepDown: async () => {
          const a = (await controlRequest(sock, { op: 'command', command: 'maintenance-on' })) as {
            ok?: unknown;
          };
          return a.ok !== undefined;
        },
      },
    );
    await until(
      'forward failed',
      () => sup.status().services[1],
      (s) => s?.state === 'failed',
    );
    await until(
      'maintenance-on sent',
      () => events(ctx),
      (e) => e.some((l) => l.startsWith('cluster command:maintenance-on')),
    );
    await until(
      'feeding again once stepped down',
      () => sup.status().watchdog.fed,
      (fed) => fed,
    );
    assert.is(sup.status().services[1]?.restarts, 3);
    // An operator's restart brings it back (it keeps crashing: back-off again).
    sup.restart('forward');
    assert.throws(() => sup.restart('nosuch'), /no service "nosuch"/);
  },
);

crash.run();

// ---

const dog = setup('runner: the watchdog');

function simDrivers(timeoutS: number) {
  const wd = new SimWatchdog({ clock, device: '/sim/watchdog', initialTimeoutS: timeoutS });
  const board = { watchdog: { driver: 'sim', device: '/sim/watchdog', timeoutS } } as unknown as Board;
  return { wd, drivers: { board, watchdog: wd, sim: { watchdog: wd } } };
}

dog('fed while the cluster runs; magic close on shutdown', async (ctx) => {
  const { wd, drivers } = simDrivers(1);
  const watchdog = await openWatchdog(drivers);
  const sup = start(ctx, [svc(ctx, 'cluster', { critical: true, escalation: 'stop-watchdog' })], {
    watchdog,
  });
  await sup.ready;
  await until(
    'fed a few times',
    () => sup.status().watchdog.keepAlives,
    (n) => n >= 3,
  );
  await sup.shutdown();
  assert.not.ok(wd.armed, 'disarmed by the magic close');
  assert.is(wd.bites, 0);
});

dog('the cluster failing stops the feeding; the bite kills everything and exits 3', async (ctx) => {
  const { wd, drivers } = simDrivers(1);
  const watchdog = await openWatchdog(drivers);
  const sup = start(
    ctx,
    [
      svc(ctx, 'cluster', {
        critical: true,
        escalation: 'stop-watchdog',
        args: ['--mode', 'crash', '--crash-after', '30'],
      }),
      svc(ctx, 'console', { needs: ['cluster'], args: ['--mode', 'ignore-term'] }),
    ],
    { watchdog, policy: { ...FAST, crashLimit: 2 } },
  );
  await until(
    'the console ran once',
    () => sup.pids().length,
    (n) => n >= 1,
  );
  const code = await Promise.race([sup.done, new Promise((r) => setTimeout(() => r('timeout'), 8000))]);
  assert.is(code, EXIT_WATCHDOG_RESET);
  assert.is(wd.bites, 1);
  assert.ok(ctx.lines.some((l) => l.includes('watchdog reset')));
  assert.ok(ctx.lines.some((l) => l.includes('no longer feeding the watchdog')));
  await until(
    'every service process gone',
    () => sup.pids().filter(alive),
    (p) => p.length === 0,
    3000,
  );
  ctx.sup = undefined;
});

dog.run();

// ---

const ctl = setup('runner: the control socket');

ctl('status, restart, bad requests, factory reset, shutdown', async (ctx) => {
  const state = join(ctx.dir, 'state');
  spawnSync('mkdir', ['-p', join(state, 'sub')]);
  writeFileSync(join(state, 'journal.db'), 'x');
  const sup = start(ctx, [svc(ctx, 'cluster', { critical: true, escalation: 'stop-watchdog' })], {
    stateDir: state,
    keepOnReset: ['supervisor.sock'],
  });
  const path = join(state, 'supervisor.sock');
  const server = await startSupervisorControl(path, {
    status: () => sup.status(),
    restart: (s) => sup.restart(s),
    factoryReset: () => sup.factoryReset(),
    reboot: () => sup.reboot(),
    shutdown: () => void sup.shutdown(),
  });
  try {
    await sup.ready;
    const st = (await controlRequest(path, { op: 'status' })) as {
      ok: { services: { name: string; state: string }[] };
    };
    assert.equal(
      st.ok.services.map((s) => `${s.name}:${s.state}`),
      ['cluster:running'],
    );
    const pid = sup.status().services[0]?.pid;
    assert.equal(await controlRequest(path, { op: 'restart', service: 'cluster' }), {
      ok: { service: 'cluster' },
    });
    await until(
      'a new cluster process',
      () => sup.status().services[0],
      (s) => s?.state === 'running' && s.pid !== pid,
    );
    const bad = (await controlRequest(path, { op: 'restart', service: 'x' })) as {
      error: { code: string; message: string };
    };
    assert.is(bad.error.code, 'SUPERVISOR_BAD_REQUEST');
    const worse = (await controlRequest(path, { op: 'dance' })) as { error: { message: string } };
    assert.match(worse.error.message, 'op should be one of status, restart, reboot, factory-reset, shutdown');
    const garbage = (await controlRequest(path, 'not an object')) as { error: { code: string } };
    assert.is(garbage.error.code, 'SUPERVISOR_BAD_REQUEST');

    const before = sup.status().services[0]?.pid;
    assert.equal(await controlRequest(path, { op: 'reboot' }), { ok: { rebooting: true } });
    await until(
      'the cluster started again after the reboot',
      () => sup.status().services[0],
      (s) => s?.state === 'running' && s.pid !== before,
    );
    assert.ok(existsSync(join(state, 'journal.db')), 'a reboot keeps the state');

    const reset = (await controlRequest(path, { op: 'factory-reset' }, 15_000)) as {
      ok: { movedTo: string };
    };
    assert.match(reset.ok.movedTo, /factory-reset-\d{4}-/);
    assert.ok(existsSync(join(reset.ok.movedTo, 'journal.db')));
    assert.ok(existsSync(join(reset.ok.movedTo, 'sub')));
    assert.equal(readdirSync(state).sort(), [reset.ok.movedTo.split('/').pop(), 'supervisor.sock'].sort());
    await sup.ready;
    assert.is(sup.status().services[0]?.state, 'running');

    assert.equal(await controlRequest(path, { op: 'shutdown' }), { ok: { stopping: true } });
    assert.is(await sup.done, 0);
  } finally {
    await server.close();
  }
});

ctl.run();
