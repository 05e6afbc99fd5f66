import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { simBoard } from '../../board/sim.ts';
import { panelLineNames } from '../../board/wiring.ts';
import { socketAppliance } from '../../firmware/panel/appliance.ts';
import { RESET_CONFIRM_MS, RESET_HOLD_MS } from '../../firmware/panel/buttons.ts';
import { PanelError } from '../../firmware/panel/errors.ts';
import { LedObserver } from '../../firmware/panel/observe.ts';
import { type PanelHandle, startPanel } from '../../firmware/panel/service.ts';
import { simPanelClient } from '../../firmware/panel/sim-client.ts';
import { type SimPanelServer, serveSimPanel } from '../../firmware/panel/sim-server.ts';
import type { LedPatterns } from '../../firmware/panel/types.ts';
import { LinuxClock } from '../../hal/clock/linux.ts';
import { SimClock } from '../../hal/clock/sim.ts';
import { SimGpioChip, SimGpioDriver } from '../../hal/gpio/sim.ts';
import { rejects, withCode } from '../support/assert.ts';
import {
  FakeAppliance,
  fakeCluster,
  fakeSupervisor,
  status,
  supervisorStatus,
  tempBoard,
  tempDir,
  until,
} from './support.ts';

const board = simBoard({ prefix: 'tndpanel', node: 'a' });
const roles = board.gpio;

interface World {
  clock: SimClock;
  chip: SimGpioChip;
  appliance: FakeAppliance;
  panel: PanelHandle;
  observer: LedObserver;
  logs: string[];
  /** Advances virtual time in small steps, letting the panel's promises settle between them. */
  run(ms: number): Promise<void>;
  leds(): LedPatterns;
}

async function world(setup: (a: FakeAppliance) => void = () => {}): Promise<World> {
  const clock = new SimClock({ startMs: 100_000 });
  const chip = new SimGpioChip({ name: roles.chip, lines: panelLineNames(board), clock });
  const appliance = new FakeAppliance();
  setup(appliance);
  const logs: string[] = [];
  const panel = await startPanel({
    gpio: new SimGpioDriver([chip]),
    roles,
    clock,
    appliance,
    log: (level, msg) => logs.push(`${level} ${msg}`),
  });
  const observer = new LedObserver(chip, roles.leds, clock);
  const run = async (ms: number): Promise<void> => {
    await SimClock.flush();
    for (let left = ms; left > 0; left -= 25) {
      clock.advance(Math.min(25, left));
      await SimClock.flush();
    }
  };
  return { clock, chip, appliance, panel, observer, logs, run, leds: () => observer.patterns() };
}

const press = (w: World, button: 'failover' | 'reset') => w.chip.drive(roles.buttons[button].line, 0);
const release = (w: World, button: 'failover' | 'reset') => w.chip.drive(roles.buttons[button].line, 1);

const leds = suite('panel service: LEDs from the cluster status (SimClock)');

leds('ACTIVE with both links up: power, active and link LEDs solid, as the lines show', async () => {
  const w = await world();
  await w.run(1500);
  assert.equal(w.leds(), {
    power: 'solid',
    active: 'solid',
    standby: 'off',
    fault: 'off',
    serialLink: 'solid',
    ethLink: 'solid',
  });
  assert.equal(w.panel.snapshot().leds, w.leds());
  assert.is(w.panel.snapshot().cluster, 'fresh');
  await w.panel.close();
});

leds('follows a change: STANDBY with the serial link late and eth down', async () => {
  const w = await world();
  await w.run(500);
  w.appliance.cluster = status('STANDBY', 'warn', 'down');
  await w.run(1500);
  const p = w.leds();
  assert.equal([p.active, p.standby, p.serialLink, p.ethLink], ['off', 'solid', 'blink', 'off']);
  await w.panel.close();
});

leds('a cluster that never answers: power blinks while starting, then fault solid', async () => {
  const w = await world((a) => {
    a.cluster = undefined;
  });
  await w.run(300);
  assert.is(w.panel.snapshot().cluster, 'starting');
  assert.is(w.panel.snapshot().leds.power, 'blink');
  assert.is(w.panel.snapshot().leds.fault, 'off');
  await w.run(1500);
  assert.is(w.panel.snapshot().cluster, 'unreachable');
  assert.equal([w.leds().fault, w.leds().power], ['solid', 'solid']);
  assert.ok(w.logs.some((l) => l.startsWith('warn cluster status')));
  await w.panel.close();
});

leds('a cluster that stops answering goes stale after about a second', async () => {
  const w = await world();
  await w.run(500);
  w.appliance.cluster = undefined;
  await w.run(800);
  assert.is(w.panel.snapshot().leds.fault, 'off', 'not stale yet');
  await w.run(500);
  assert.is(w.panel.snapshot().leds.fault, 'solid');
  assert.is(w.panel.snapshot().leds.active, 'off');
  w.appliance.cluster = status('ACTIVE');
  await w.run(300);
  assert.is(w.panel.snapshot().leds.fault, 'off', 'back');
  await w.panel.close();
});

leds('the supervisor: a failed critical service fast-blinks the fault LED', async () => {
  const w = await world((a) => {
    a.supervisor = supervisorStatus(['forward', 'failed', true]);
  });
  await w.run(1500);
  assert.is(w.leds().fault, 'fast-blink');
  w.appliance.supervisor = supervisorStatus();
  await w.run(1500);
  assert.is(w.leds().fault, 'off');
  await w.panel.close();
});

leds('a serious alarm raised while running blinks the fault LED for 10 s', async () => {
  const w = await world();
  await w.run(500);
  w.appliance.cluster = { ...status('ACTIVE'), alarms: { SPLIT_BRAIN: 1 } };
  await w.run(1500);
  assert.is(w.leds().fault, 'blink');
  await w.run(10_000);
  assert.is(w.leds().fault, 'off');
  await w.panel.close();
});

leds.run();

// ---

const buttons = suite('panel service: buttons (SimClock)');

buttons('a short failover press asks the cluster for a switchover', async () => {
  const w = await world();
  await w.run(200);
  press(w, 'failover');
  await w.run(300);
  assert.is(w.panel.snapshot().pressed.failover, true);
  release(w, 'failover');
  await w.run(100);
  assert.equal(w.appliance.calls, ['failover']);
  assert.equal(
    w.panel.snapshot().requests.map((r) => [r.what, r.ok]),
    [['failover', true]],
  );
  await w.panel.close();
});

buttons('a bouncing contact is one press; a press of 2 s or more is ignored', async () => {
  const w = await world();
  await w.run(200);
  w.chip.bounce(roles.buttons.failover.line, [0, 1, 0, 1, 0], 3);
  await w.run(2100);
  release(w, 'failover');
  await w.run(100);
  assert.equal(w.appliance.calls, []);
  assert.ok(w.logs.some((l) => /ignored/.test(l)));
  await w.panel.close();
});

buttons('reset held 10 s: every LED fast-blinks, then the factory reset is requested', async () => {
  const w = await world();
  await w.run(1500);
  press(w, 'reset');
  await w.run(RESET_HOLD_MS - 200);
  assert.is(w.panel.snapshot().reset, 'holding');
  assert.is(w.leds().active, 'solid', 'no confirmation yet');
  await w.run(700);
  assert.is(w.panel.snapshot().reset, 'confirming');
  assert.ok(
    Object.values(w.leds()).every((p) => p === 'fast-blink'),
    JSON.stringify(w.leds()),
  );
  release(w, 'reset');
  assert.equal(w.appliance.calls, []);
  await w.run(RESET_CONFIRM_MS);
  assert.equal(w.appliance.calls, ['factory-reset']);
  assert.is(w.panel.snapshot().reset, 'idle');
  await w.run(1000);
  assert.is(w.leds().active, 'solid', 'back to the normal patterns');
  await w.panel.close();
});

buttons('reset released before 10 s: canceled, no confirmation, no request', async () => {
  const w = await world();
  await w.run(200);
  press(w, 'reset');
  await w.run(9000);
  release(w, 'reset');
  await w.run(6000);
  assert.equal(w.appliance.calls, []);
  assert.is(w.panel.snapshot().reset, 'idle');
  assert.is(w.chip.history().length, 0, 'the observer took every change');
  assert.ok(w.logs.some((l) => /no factory reset/.test(l)));
  await w.panel.close();
});

buttons('a refused request fast-blinks the fault LED for 3 s', async () => {
  const w = await world((a) => {
    a.refuse = true;
  });
  await w.run(500);
  press(w, 'failover');
  await w.run(200);
  release(w, 'failover');
  await w.run(500);
  assert.is(w.leds().fault, 'fast-blink');
  assert.equal(w.panel.snapshot().requests[0]?.ok, false);
  assert.match(w.panel.snapshot().requests[0]?.error ?? '', /refused by the test/);
  assert.is(w.panel.snapshot().leds.fault, 'fast-blink');
  await w.run(2700);
  assert.is(w.panel.snapshot().leds.fault, 'off', 'over after 3 s');
  await w.run(800);
  assert.is(w.leds().fault, 'off', 'and the line has stayed dark');
  await w.panel.close();
});

buttons.run();

// ---

const life = suite('panel service: start and close');

life('close turns every LED off, releases the lines and leaves no timer', async () => {
  const w = await world();
  await w.run(500);
  await w.panel.close();
  w.observer.close();
  for (const name of Object.keys(roles.leds) as (keyof typeof roles.leds)[]) {
    assert.is(w.chip.level(roles.leds[name].line), 0, name);
    assert.is(w.chip.holder(roles.leds[name].line), undefined);
  }
  assert.is(w.chip.holder(roles.buttons.reset.line), undefined);
  await w.run(1000);
  assert.is(w.clock.pendingTimers(), 0);
  await w.panel.close();
});

life('a line held by someone else: HAL_BUSY, and nothing stays requested', async () => {
  const clock = new SimClock();
  const chip = new SimGpioChip({ name: roles.chip, lines: panelLineNames(board), clock });
  const driver = new SimGpioDriver([chip]);
  const other = await driver.openChip(roles.chip);
  await other.request({ line: roles.buttons.reset.line, consumer: 'someone', direction: 'input' });
  await rejects(
    startPanel({ gpio: driver, roles, clock, appliance: new FakeAppliance() }),
    withCode('HAL_BUSY'),
  );
  assert.is(chip.holder(roles.leds.power.line), undefined);
  await other.close();
});

life('a missing chip: HAL_NOT_FOUND naming it', async () => {
  const clock = new SimClock();
  const err = await rejects(
    startPanel({ gpio: new SimGpioDriver([]), roles, clock, appliance: new FakeAppliance() }),
    withCode('HAL_NOT_FOUND'),
  );
  assert.match((err as Error).message, /sim-panel-a/);
});

life('an aborted signal: refused at once; aborting later closes the panel', async () => {
  const clock = new SimClock();
  const chip = new SimGpioChip({ name: roles.chip, lines: panelLineNames(board), clock });
  const gpio = new SimGpioDriver([chip]);
  await rejects(
    startPanel({ gpio, roles, clock, appliance: new FakeAppliance(), signal: AbortSignal.abort() }),
    (e) => PanelError.is(e, 'PANEL_CLOSED'),
  );
  const ac = new AbortController();
  await startPanel({ gpio, roles, clock, appliance: new FakeAppliance(), signal: ac.signal });
  assert.is(chip.holder(roles.leds.power.line), 'tandem-panel');
  ac.abort();
  await SimClock.flush();
  assert.is(chip.holder(roles.leds.power.line), undefined);
});

life.run();

// ---

const sockets = suite('panel service on real Unix sockets (cluster, supervisor, sim panel)');

interface Real {
  remove: () => void;
  cluster: Awaited<ReturnType<typeof fakeCluster>>;
  supervisor: Awaited<ReturnType<typeof fakeSupervisor>>;
  panel: PanelHandle;
  sim: SimPanelServer;
  client: ReturnType<typeof simPanelClient>;
  chip: SimGpioChip;
}

async function real(): Promise<Real> {
  const { dir, remove } = tempDir();
  const b = tempBoard(dir);
  const clock = new LinuxClock();
  const chip = new SimGpioChip({ name: b.gpio.chip, lines: panelLineNames(b), clock });
  const cluster = await fakeCluster(join(dir, 'cluster.sock'), status('ACTIVE'));
  const supervisor = await fakeSupervisor(join(dir, 'supervisor.sock'), supervisorStatus());
  const panel = await startPanel({
    gpio: new SimGpioDriver([chip]),
    roles: b.gpio,
    clock,
    appliance: socketAppliance({
      clusterSocket: cluster.server.path,
      supervisorSocket: supervisor.server.path,
    }),
  });
  const path = join(dir, 'panel-sim.sock');
  const sim = await serveSimPanel({ path, chip, roles: b.gpio, clock, snapshot: () => panel.snapshot() });
  return { remove, cluster, supervisor, panel, sim, client: simPanelClient(path), chip };
}

async function teardown(r: Real): Promise<void> {
  await r.sim.close();
  await r.panel.close();
  await r.cluster.server.close();
  await r.supervisor.server.close();
  r.remove();
}

sockets('LEDs read back through the sim socket; a press reaches the cluster socket', async () => {
  const r = await real();
  try {
    await until('ACTIVE LEDs', async () => {
      const l = await r.client.leds();
      return l.active === 'solid' && l.ethLink === 'solid' && l.fault === 'off' ? l : undefined;
    });
    r.cluster.state.status = status('MAINTENANCE', 'warn', 'up');
    const l = await until('MAINTENANCE LEDs', async () => {
      const l = await r.client.leds();
      return l.active === 'blink' && l.serialLink === 'blink' ? l : undefined;
    });
    assert.is(l.power, 'solid');
    await r.client.press('failover', 150);
    await until('the failover command', () => (r.cluster.state.commands.length > 0 ? true : undefined));
    assert.equal(r.cluster.state.commands, ['failover']);
    const snap = await r.client.patterns();
    assert.is(snap.role, 'MAINTENANCE');
    assert.ok(r.supervisor.state.requests.length > 0, 'the supervisor was polled');
  } finally {
    await teardown(r);
  }
});

sockets('the cluster socket going away: fault solid; hold and release through the socket', async () => {
  const r = await real();
  try {
    await until('fresh', async () => ((await r.client.patterns()).cluster === 'fresh' ? true : undefined));
    await r.cluster.server.close();
    await until('fault solid', async () => ((await r.client.leds()).fault === 'solid' ? true : undefined));
    await r.client.hold('reset');
    assert.is((await r.client.lines())['button-reset'], 0, 'active-low: held is low');
    await until('holding', async () => ((await r.client.patterns()).reset === 'holding' ? true : undefined));
    await rejects(
      r.client.hold('reset'),
      (e) => PanelError.is(e, 'PANEL_REFUSED') && /already held/.test(String(e)),
    );
    await r.client.release('reset');
    assert.is((await r.client.lines())['button-reset'], 1);
    await until('idle', async () => ((await r.client.patterns()).reset === 'idle' ? true : undefined));
    assert.equal(
      r.supervisor.state.requests.filter((q) => (q as { op: string }).op !== 'status'),
      [],
    );
  } finally {
    await teardown(r);
  }
});

sockets('bad requests on the sim socket are answered with what is wrong', async () => {
  const r = await real();
  try {
    const bad = async (req: unknown, re: RegExp) => {
      const { controlRequest } = await import('../../firmware/cluster/control.ts');
      const a = (await controlRequest(r.sim.path, req)) as { error?: { code: string; message: string } };
      assert.is(a.error?.code, 'PANEL_BAD_REQUEST', JSON.stringify(a));
      assert.match(a.error?.message ?? '', re);
    };
    await bad({ op: 'dance' }, /op should be one of .*"dance"/);
    await bad({ op: 'press', button: 'power' }, /button should be one of failover, reset, got "power"/);
    await bad(
      { op: 'press', button: 'failover', ms: -5 },
      /ms should be an integer from 1 to 600000, got -5/,
    );
    await bad({ op: 'hold', button: 'reset', ms: 1.5 }, /ms should be/);
    await rejects(
      simPanelClient(join(r.sim.path, '..', 'nothing.sock')).leds(),
      (e) => PanelError.is(e, 'PANEL_UNREACHABLE') && /nothing\.sock/.test(String(e)),
    );
  } finally {
    await teardown(r);
  }
});

sockets.run();
