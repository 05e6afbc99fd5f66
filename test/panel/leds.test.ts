import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Role } from '../../firmware/cluster/types.ts';
import { PanelError } from '../../firmware/panel/errors.ts';
import { ledPatterns } from '../../firmware/panel/leds.ts';
import { clusterView, raisedAlarms, supervisorView } from '../../firmware/panel/status.ts';
import type { ApplianceView, ClusterView, SupervisorView } from '../../firmware/panel/types.ts';

const cluster = (role: Role, extra: Partial<ClusterView> = {}): ClusterView => ({
  role,
  peerAlive: true,
  links: [
    { name: 'serial', status: 'up', carrier: true },
    { name: 'eth', status: 'up', carrier: true },
  ],
  alarms: {},
  ...extra,
});

const view = (c: ApplianceView['cluster'], extra: Partial<ApplianceView> = {}): ApplianceView => ({
  cluster: c,
  supervisor: undefined,
  recentAlarms: [],
  ...extra,
});

const supervisor = (
  ...services: [string, SupervisorView['services'][number]['state'], boolean][]
): SupervisorView => ({
  services: services.map(([name, state, critical]) => ({ name, state, critical })),
  watchdogFed: true,
});

const roles = suite('ledPatterns: role LEDs');

roles('ACTIVE: power, active solid; standby, fault off', () => {
  assert.equal(ledPatterns(view(cluster('ACTIVE'))), {
    power: 'solid',
    active: 'solid',
    standby: 'off',
    fault: 'off',
    serialLink: 'solid',
    ethLink: 'solid',
  });
});

roles('STANDBY solid, INIT blinks standby and power, MAINTENANCE blinks active', () => {
  const p = (role: Role) => ledPatterns(view(cluster(role)));
  assert.equal([p('STANDBY').standby, p('STANDBY').active, p('STANDBY').power], ['solid', 'off', 'solid']);
  assert.equal([p('INIT').standby, p('INIT').active, p('INIT').power], ['blink', 'off', 'blink']);
  assert.equal([p('MAINTENANCE').active, p('MAINTENANCE').standby], ['blink', 'off']);
  assert.is(p('OFF').power, 'blink');
  assert.is(p('STOPPED').power, 'blink', 'leaving');
});

roles('FAULT: fault solid, active and standby off', () => {
  const p = ledPatterns(view(cluster('FAULT')));
  assert.equal([p.fault, p.active, p.standby, p.power], ['solid', 'off', 'off', 'solid']);
});

roles('starting: power blinks, everything else off (no fault yet)', () => {
  assert.equal(ledPatterns(view('starting')), {
    power: 'blink',
    active: 'off',
    standby: 'off',
    fault: 'off',
    serialLink: 'off',
    ethLink: 'off',
  });
});

roles('unreachable cluster: fault solid, power solid, role and link LEDs off', () => {
  assert.equal(ledPatterns(view('unreachable')), {
    power: 'solid',
    active: 'off',
    standby: 'off',
    fault: 'solid',
    serialLink: 'off',
    ethLink: 'off',
  });
});

roles.run();

// ---

const links = suite('ledPatterns: heartbeat link LEDs');

links('up solid, warn blink, down and unknown off, lost carrier off, missing link off', () => {
  const p = (status: 'up' | 'warn' | 'down' | 'unknown', carrier = true) =>
    ledPatterns(view(cluster('ACTIVE', { links: [{ name: 'eth', status, carrier }] })));
  assert.is(p('up').ethLink, 'solid');
  assert.is(p('warn').ethLink, 'blink');
  assert.is(p('down').ethLink, 'off');
  assert.is(p('unknown').ethLink, 'off');
  assert.is(p('up', false).ethLink, 'off');
  assert.is(p('up').serialLink, 'off', 'a board without the serial link configured');
});

links.run();

// ---

const fault = suite('ledPatterns: the fault LED');

fault('a failed critical service fast-blinks, even when the cluster does not answer', () => {
  const sup = supervisor(['cluster', 'failed', true], ['console', 'running', false]);
  assert.is(ledPatterns(view(cluster('ACTIVE'), { supervisor: sup })).fault, 'fast-blink');
  assert.is(ledPatterns(view('unreachable', { supervisor: sup })).fault, 'fast-blink');
});

fault('degraded blinks: a restarting service, a failed non-critical one, the watchdog unfed', () => {
  const p = (sup: SupervisorView) => ledPatterns(view(cluster('STANDBY'), { supervisor: sup })).fault;
  assert.is(p(supervisor(['monitor', 'backoff', true])), 'blink');
  assert.is(p(supervisor(['metrics', 'failed', false])), 'blink');
  assert.is(p({ ...supervisor(['monitor', 'running', true]), watchdogFed: false }), 'blink');
  assert.is(p(supervisor(['monitor', 'running', true], ['panel', 'starting', false])), 'off');
});

fault('FAULT role is solid, over a merely degraded supervisor', () => {
  const sup = supervisor(['monitor', 'backoff', true]);
  assert.is(ledPatterns(view(cluster('FAULT'), { supervisor: sup })).fault, 'solid');
});

fault('a recent serious alarm blinks; a link alarm does not', () => {
  assert.is(ledPatterns(view(cluster('ACTIVE'), { recentAlarms: ['SPLIT_BRAIN'] })).fault, 'blink');
  assert.is(ledPatterns(view(cluster('ACTIVE'), { recentAlarms: ['LINK_DOWN', 'PEER_DEAD'] })).fault, 'off');
});

fault('overlays: refused fast-blinks the fault LED only; confirm-reset fast-blinks all', () => {
  const refused = ledPatterns(view(cluster('ACTIVE')), 'refused');
  assert.equal([refused.fault, refused.active, refused.power], ['fast-blink', 'solid', 'solid']);
  const confirm = ledPatterns(view('unreachable'), 'confirm-reset');
  assert.ok(Object.values(confirm).every((p) => p === 'fast-blink'));
  assert.is(Object.keys(confirm).length, 6);
});

fault.run();

// ---

const status = suite('status answers into views');

status('clusterView keeps what the panel needs from a ClusterStatus-shaped answer', () => {
  const v = clusterView({
    nodeId: 1,
    role: 'ACTIVE',
    peerAlive: true,
    links: [{ name: 'serial', status: 'warn', carrier: true, silentMs: 900 }],
    alarms: { LINK_WARN: 2, bogus: 'x' },
    epoch: 3,
  });
  assert.equal(v, {
    role: 'ACTIVE',
    peerAlive: true,
    links: [{ name: 'serial', status: 'warn', carrier: true }],
    alarms: { LINK_WARN: 2 },
  });
});

status('clusterView names the bad field', () => {
  const err = (value: unknown) => {
    try {
      clusterView(value);
    } catch (e) {
      assert.ok(PanelError.is(e, 'PANEL_BAD_ANSWER'));
      return (e as Error).message;
    }
    assert.unreachable('should have thrown');
    return '';
  };
  assert.match(err({ role: 'BOSS', links: [] }), /role .*"BOSS"/);
  assert.match(err({ role: 'ACTIVE' }), /links/);
  assert.match(err({ role: 'ACTIVE', links: [{ name: 'usb', status: 'up' }] }), /links\.0\.name .*"usb"/);
  assert.match(err(null), /\(root\)/);
});

status('supervisorView reads services and the watchdog', () => {
  const v = supervisorView({
    services: [{ name: 'cluster', state: 'running', pid: 4, restarts: 0, critical: true }],
    watchdog: { fed: false, bites: 0 },
  });
  assert.equal(v, { services: [{ name: 'cluster', state: 'running', critical: true }], watchdogFed: false });
  assert.is(supervisorView({ services: [] }).watchdogFed, undefined);
  assert.throws(() => supervisorView({ services: [{ name: 'x', state: 'sleeping' }] }), /services\.0\.state/);
});

status('raisedAlarms lists the counters that went up', () => {
  assert.equal(
    raisedAlarms({ LINK_WARN: 1, SPLIT_BRAIN: 1 }, { LINK_WARN: 1, SPLIT_BRAIN: 2, ISOLATED: 1 }),
    ['SPLIT_BRAIN', 'ISOLATED'],
  );
  assert.equal(raisedAlarms({ LINK_WARN: 5 }, { LINK_WARN: 1 }), []);
});

status.run();
