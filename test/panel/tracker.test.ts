import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PanelError } from '../../firmware/panel/errors.ts';
import { ApplianceTracker } from '../../firmware/panel/tracker.ts';
import { status, supervisorStatus } from './support.ts';

const ok = (value: unknown): PromiseSettledResult<unknown> => ({ status: 'fulfilled', value });
const down = (message = 'gone'): PromiseSettledResult<unknown> => ({
  status: 'rejected',
  reason: new PanelError('PANEL_UNREACHABLE', message),
});

function tracker() {
  const logs: string[] = [];
  const t = new ApplianceTracker({
    startedAt: 1000,
    staleMs: 1000,
    recentAlarmMs: 10_000,
    log: (level, msg) => logs.push(`${level} ${msg}`),
  });
  return { t, logs };
}

const fresh = suite('ApplianceTracker: freshness');

fresh('starting until staleMs after the start, then unreachable', () => {
  const { t } = tracker();
  assert.is(t.view(1500).cluster, 'starting');
  assert.is(t.view(2000).cluster, 'starting');
  assert.is(t.view(2001).cluster, 'unreachable');
});

fresh('an answer is good for staleMs; failures in between do not drop it early', () => {
  const { t, logs } = tracker();
  t.takeCluster(ok(status('ACTIVE')), 1200);
  t.takeCluster(down(), 1400);
  t.takeCluster(down(), 1600);
  const v = t.view(2200);
  assert.is(typeof v.cluster === 'object' && v.cluster.role, 'ACTIVE');
  assert.is(t.view(2201).cluster, 'unreachable');
  assert.equal(logs, ['info the cluster answers (role ACTIVE)', 'warn cluster status: gone'], 'logged once');
});

fresh('a malformed answer is logged and ignored', () => {
  const { t, logs } = tracker();
  t.takeCluster(ok({ role: 'BOSS', links: [] }), 1100);
  assert.is(t.view(1100).cluster, 'starting');
  assert.match(logs[0] ?? '', /role .*BOSS/);
});

fresh('the supervisor: unreachable is quiet and means undefined; stale drops it', () => {
  const { t, logs } = tracker();
  t.takeSupervisor(down(), 1000);
  assert.is(t.view(1000).supervisor, undefined);
  assert.equal(logs, []);
  t.takeSupervisor(ok(supervisorStatus()), 1100);
  assert.is(t.view(1100).supervisor?.services.length, 3);
  assert.is(t.view(2200).supervisor, undefined);
});

fresh.run();

// ---

const alarms = suite('ApplianceTracker: recent alarms');

alarms('counters present at the first answer are history; a rise is recent for recentAlarmMs', () => {
  const { t } = tracker();
  t.takeCluster(ok({ ...status('ACTIVE'), alarms: { SPLIT_BRAIN: 3 } }), 1000);
  assert.equal(t.view(1000).recentAlarms, []);
  t.takeCluster(ok({ ...status('ACTIVE'), alarms: { SPLIT_BRAIN: 4, LINK_WARN: 1 } }), 2000);
  assert.equal(t.view(2000).recentAlarms, ['SPLIT_BRAIN', 'LINK_WARN']);
  assert.equal(t.view(11_999).recentAlarms, ['SPLIT_BRAIN', 'LINK_WARN']);
  assert.equal(t.view(12_000).recentAlarms, []);
});

alarms.run();
