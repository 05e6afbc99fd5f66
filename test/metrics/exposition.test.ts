import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Snapshot } from '../../firmware/metrics/collector.ts';
import { MonotonicCounters, TransitionTally } from '../../firmware/metrics/counting.ts';
import { MetricsError } from '../../firmware/metrics/errors.ts';
import { escapeLabelValue, FamilyBuilder, formatValue, render } from '../../firmware/metrics/exposition.ts';
import { families } from '../../firmware/metrics/families.ts';
import { serverHealthViews } from '../../firmware/metrics/sources.ts';
import { parseClusterAnswer, parseSupervisorAnswer } from '../../firmware/metrics/views.ts';
import { clusterStatus, healthRows, supervisorStatus } from './fixtures.ts';
import { parseExposition, sampleValue } from './parse.ts';

const isInvalidName = (e: unknown): boolean => MetricsError.is(e, 'METRICS_INVALID_NAME');

// ---
const format = suite('render');

format('writes HELP and TYPE once per family and parses back to the same samples', () => {
  const b = new FamilyBuilder();
  const g = b.gauge('tandem_test_gauge', 'A gauge.');
  const c = b.counter('tandem_test_total', 'A counter.');
  b.gauge('tandem_test_empty', 'Declared, no samples.');
  g({ a: 'x' }, 1.5);
  g({ a: 'y' }, -2);
  c({}, 42);
  const text = render(b.families());
  const parsed = parseExposition(text);
  assert.equal([...parsed.keys()], ['tandem_test_gauge', 'tandem_test_total', 'tandem_test_empty']);
  assert.is(parsed.get('tandem_test_gauge')?.type, 'gauge');
  assert.is(parsed.get('tandem_test_total')?.type, 'counter');
  assert.is(parsed.get('tandem_test_empty')?.help, 'Declared, no samples.');
  assert.is(sampleValue(parsed, 'tandem_test_gauge', { a: 'y' }), -2);
  assert.is(sampleValue(parsed, 'tandem_test_total'), 42);
  assert.is(parsed.get('tandem_test_empty')?.samples.length, 0);
});

format('label values with backslash, quote, line feed and non-ASCII survive a round trip', () => {
  const nasty = ['back\\slash', 'say "hi"', 'two\nlines', 'ünïcødé ✓', '\\n is not a newline', '', '{}=,'];
  const b = new FamilyBuilder();
  const g = b.gauge('tandem_escape', 'Escaping.');
  for (const [i, v] of nasty.entries()) g({ v, i: String(i) }, i);
  const text = render(b.families());
  assert.not.ok(/\n[^#t]/.test(text), 'no sample line may be broken by a raw line feed');
  const parsed = parseExposition(text);
  for (const i of nasty.keys()) assert.is(sampleValue(parsed, 'tandem_escape', { i: String(i) }), i);
  assert.equal(
    parsed.get('tandem_escape')?.samples.map((s) => s.labels.v),
    nasty,
  );
  assert.is(escapeLabelValue('a\\"b\n'), 'a\\\\\\"b\\n');
});

format('HELP text escapes backslash and line feed', () => {
  const b = new FamilyBuilder();
  b.gauge('tandem_help', 'line one\nline two \\ done');
  const text = render(b.families());
  assert.ok(text.startsWith('# HELP tandem_help line one\\nline two \\\\ done\n'));
  assert.is(parseExposition(text).get('tandem_help')?.help, 'line one\nline two \\ done');
});

format('special values are written the way Prometheus reads them', () => {
  assert.is(formatValue(Number.NaN), 'NaN');
  assert.is(formatValue(Number.POSITIVE_INFINITY), '+Inf');
  assert.is(formatValue(Number.NEGATIVE_INFINITY), '-Inf');
  assert.is(formatValue(1e21), '1e+21');
  const b = new FamilyBuilder();
  b.gauge('tandem_special', 'x')({ k: 'inf' }, Number.POSITIVE_INFINITY);
  assert.is(sampleValue(parseExposition(render(b.families())), 'tandem_special'), Number.POSITIVE_INFINITY);
});

format('bad metric and label names, repeated series and mixed types are refused by name', () => {
  assert.throws(() => render([{ name: '1bad', help: '', type: 'gauge', samples: [] }]), isInvalidName);
  assert.throws(() => render([{ name: 'has-dash', help: '', type: 'gauge', samples: [] }]), isInvalidName);
  assert.throws(
    () => render([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { 'a-b': 'x' }, value: 1 }] }]),
    (e: unknown) => isInvalidName(e) && (e as Error).message.includes('"a-b"'),
  );
  assert.throws(
    () => render([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { __name: 'x' }, value: 1 }] }]),
    isInvalidName,
  );
  assert.throws(
    () =>
      render([
        {
          name: 'ok',
          help: '',
          type: 'gauge',
          samples: [
            { labels: { a: '1' }, value: 1 },
            { labels: { a: '1' }, value: 2 },
          ],
        },
      ]),
    isInvalidName,
  );
  const b = new FamilyBuilder();
  b.gauge('tandem_x', 'x');
  assert.throws(() => b.counter('tandem_x', 'x'), isInvalidName);
  assert.is(render([]), '');
});

format.run();

// ---
const mapping = suite('families of a reading');

function snapshot(over: Partial<Snapshot> = {}): Snapshot {
  return {
    at: '2024-01-01T00:00:00.000Z',
    node: 'a',
    sources: { cluster: { up: true, ms: 3 }, supervisor: { up: false, ms: 1000, error: 'late' } },
    cluster: parseClusterAnswer({ ok: clusterStatus() }),
    supervisor: parseSupervisorAnswer({ ok: supervisorStatus({ panel: 'backoff' }) }),
    traffic: {
      services: [
        {
          name: 'web',
          method: 'dr',
          packets: 100,
          bytes: 6400,
          connections: 10,
          servers: [{ address: '198.51.100.11', port: '*', packets: 0, bytes: 0, connections: 10 }],
        },
      ],
    },
    journal: {
      status: {
        role: 'leader',
        epoch: 7,
        head: 420,
        floor: 1,
        recovering: false,
        relation: 'source',
        lag: 3,
      },
      servers: serverHealthViews(healthRows()),
    },
    transitions: { election: 1, start: 1 },
    ...over,
  };
}

mapping('every figure the brief names is there and the whole page parses', () => {
  const parsed = parseExposition(render(families(snapshot())));
  assert.is(sampleValue(parsed, 'tandem_source_up', { source: 'cluster' }), 1);
  assert.is(sampleValue(parsed, 'tandem_source_up', { source: 'supervisor' }), 0);
  assert.is(sampleValue(parsed, 'tandem_cluster_role', { role: 'ACTIVE' }), 1);
  assert.is(sampleValue(parsed, 'tandem_cluster_role', { role: 'STANDBY' }), 0);
  assert.is(
    parsed.get('tandem_cluster_role')?.samples.reduce((a, s) => a + s.value, 0),
    1,
    'the role is one-hot',
  );
  assert.is(sampleValue(parsed, 'tandem_cluster_epoch'), 7);
  assert.is(sampleValue(parsed, 'tandem_cluster_transitions_total', { reason: 'election' }), 1);
  assert.is(sampleValue(parsed, 'tandem_heartbeat_link_state', { link: 'eth', state: 'warn' }), 1);
  assert.is(sampleValue(parsed, 'tandem_heartbeat_frames_sent_total', { link: 'serial' }), 100);
  assert.is(sampleValue(parsed, 'tandem_heartbeat_frames_received_total', { link: 'serial' }), 98);
  assert.is(
    sampleValue(parsed, 'tandem_heartbeat_link_drops_total', { link: 'serial', reason: 'bad_crc' }),
    2,
  );
  assert.is(
    sampleValue(parsed, 'tandem_heartbeat_link_drops_total', { link: 'serial', reason: 'not_open' }),
    3,
  );
  assert.is(sampleValue(parsed, 'tandem_heartbeat_link_silent_seconds', { link: 'eth' }), 0.06);
  assert.is(sampleValue(parsed, 'tandem_cluster_frames_dropped_total', { reason: 'late_results' }), 1);
  assert.is(sampleValue(parsed, 'tandem_service_packets_total', { service: 'web' }), 100);
  assert.is(
    sampleValue(parsed, 'tandem_server_connections_total', { address: '198.51.100.11', port: '*' }),
    10,
  );
  assert.is(sampleValue(parsed, 'tandem_server_health', { server: 'rs3', state: 'down' }), 1);
  assert.is(sampleValue(parsed, 'tandem_server_weight', { server: 'rs1' }), 10);
  assert.is(sampleValue(parsed, 'tandem_server_weight', { server: 'rs3' }), 0);
  assert.is(
    parsed.get('tandem_server_health')?.samples.filter((s) => s.labels.server?.startsWith('@')).length,
    0,
  );
  assert.is(
    sampleValue(parsed, 'tandem_journal_replication_lag_entries'),
    2,
    "the cluster host's live status wins",
  );
  assert.is(sampleValue(parsed, 'tandem_journal_head_seq'), 420);
  assert.is(sampleValue(parsed, 'tandem_journal_role', { role: 'leader' }), 1);
  assert.is(
    sampleValue(parsed, 'tandem_supervisor_service_state', { service: 'panel', state: 'backoff' }),
    1,
  );
  assert.is(sampleValue(parsed, 'tandem_supervisor_service_restarts_total', { service: 'monitor' }), 2);
  assert.is(sampleValue(parsed, 'tandem_supervisor_watchdog_fed'), 1);
  for (const [name, f] of parsed) {
    assert.ok(f.help !== undefined && f.help.length > 0, `${name} has HELP`);
    if (f.type === 'counter') assert.ok(name.endsWith('_total'), `counter ${name} ends in _total`);
  }
});

mapping('an unknown state still gets its own series; the journal falls back to the cluster status', () => {
  const cluster = parseClusterAnswer({ ok: clusterStatus({ role: 'NEWROLE', lag: 9 }) });
  const { journal: _j, ...noJournal } = snapshot({ cluster });
  const parsed = parseExposition(render(families(noJournal)));
  assert.is(sampleValue(parsed, 'tandem_cluster_role', { role: 'NEWROLE' }), 1);
  assert.is(parsed.get('tandem_cluster_role')?.samples.length, 8);
  assert.is(sampleValue(parsed, 'tandem_journal_replication_lag_entries'), 9);
  assert.is(parsed.get('tandem_server_health')?.samples.length, 0);
});

mapping('sources that are down leave their families empty, with HELP and TYPE still there', () => {
  const parsed = parseExposition(
    render(
      families({
        at: '2024-01-01T00:00:00.000Z',
        node: 'a',
        sources: { cluster: { up: false, ms: 1, error: 'x' } },
        transitions: {},
      }),
    ),
  );
  assert.is(sampleValue(parsed, 'tandem_source_up', { source: 'cluster' }), 0);
  assert.is(parsed.get('tandem_cluster_role')?.type, 'gauge');
  assert.is(parsed.get('tandem_cluster_role')?.samples.length, 0);
});

mapping.run();

// ---
const counting = suite('monotonic counters and transition tallies');

counting('a counter that drops (its source restarted) keeps counting from where it was', () => {
  const m = new MonotonicCounters();
  const seen = [5, 9, 9, 2, 4, 0, 1].map((raw) => m.value('x', raw));
  assert.equal(seen, [5, 9, 9, 11, 13, 13, 14]);
  for (let i = 1; i < seen.length; i++) assert.ok((seen[i] ?? 0) >= (seen[i - 1] ?? 0));
  assert.is(m.value('y', 3), 3, 'series are independent');
});

counting('transitions are counted once across readings, even several in one millisecond', () => {
  const t = new TransitionTally();
  const a = { at: 10, reason: 'start' };
  const b = { at: 20, reason: 'election' };
  const c = { at: 20, reason: 'peer-dead' };
  const d = { at: 30, reason: 'handover' };
  t.observe(1, [a, b]);
  assert.equal(t.byReason(), { election: 1, start: 1 });
  t.observe(1, [a, b]);
  assert.equal(t.byReason(), { election: 1, start: 1 });
  t.observe(1, [a, b, c]);
  assert.equal(t.byReason(), { election: 1, 'peer-dead': 1, start: 1 });
  t.observe(1, [b, c, d]);
  assert.equal(t.byReason(), { election: 1, handover: 1, 'peer-dead': 1, start: 1 });
  t.observe(2, [{ at: 5, reason: 'start' }]);
  assert.equal(
    t.byReason(),
    { election: 1, handover: 1, 'peer-dead': 1, start: 2 },
    'a new boot starts over',
  );
});

counting.run();
