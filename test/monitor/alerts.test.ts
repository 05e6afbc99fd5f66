/** Alerts: the RFC 5424 formatter, syslog over UDP to a loopback listener, and the alert script's environment. */
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Alerter } from '../../firmware/monitor/alerts/alerter.ts';
import { type AlertEvent, alertEnvironment, alertFor } from '../../firmware/monitor/alerts/events.ts';
import { formatStructuredData, formatSyslog } from '../../firmware/monitor/alerts/syslog.ts';
import type { AlertPlan } from '../../firmware/monitor/plan.ts';
import type { ServerHealthRecord } from '../../firmware/monitor/types.ts';
import { LinuxClock } from '../../hal/clock/linux.ts';
import { SimClock } from '../../hal/clock/sim.ts';

const T = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const downRecord: ServerHealthRecord = {
  service: 'web',
  server: 'rs1',
  address: '198.51.100.11',
  port: 80,
  state: 'down',
  action: 'quiesce',
  weight: 0,
  cause: 'fall',
  reason: 'http: answered 503 "busy"',
};

// ---
const format = suite('RFC 5424 formatter');

format('header: PRI, version, timestamp, host, app, procid, msgid; SD; MSG', () => {
  const text = formatSyslog({
    facility: 3,
    severity: 'warning',
    time: T,
    hostname: 'lb-a',
    appName: 'tandem-monitor',
    procId: '4242',
    msgId: 'server-down',
    structuredData: [{ id: 'tandem@32473', params: { service: 'web', server: 'rs1' } }],
    message: 'real server rs1 is down',
  }).toString('utf8');
  assert.is(
    text,
    '<28>1 2026-01-02T03:04:05.678Z lb-a tandem-monitor 4242 server-down [tandem@32473 service="web" server="rs1"] real server rs1 is down',
  );
});

format('NILVALUE for missing fields; no MSG part when there is no message', () => {
  assert.is(
    formatSyslog({ facility: 0, severity: 'emerg', time: T }).toString(),
    '<0>1 2026-01-02T03:04:05.678Z - - - - -',
  );
  assert.is(
    formatSyslog({ facility: 23, severity: 'debug', time: Number.NaN, hostname: '' }).toString(),
    '<191>1 - - - - - -',
  );
});

format('header fields: non-printable characters replaced, cut to their lengths', () => {
  const text = formatSyslog({
    facility: 1,
    severity: 'info',
    time: T,
    hostname: 'a b',
    appName: 'x'.repeat(60),
    msgId: 'm'.repeat(40),
  }).toString();
  const parts = text.split(' ');
  assert.is(parts[2], 'a?b');
  assert.is(parts[3]?.length, 48);
  assert.is(parts[5]?.length, 32);
});

format('SD-PARAM values escape quote, backslash and bracket; names are cleaned', () => {
  assert.is(
    formatStructuredData([{ id: 'x@32473', params: { reason: 'said "no" [at] C:\\', 'bad name=': 'v' } }]),
    '[x@32473 reason="said \\"no\\" [at\\] C:\\\\" bad_name_="v"]',
  );
  assert.is(formatStructuredData([]), '-');
});

format(
  'a UTF-8 message starts with the BOM; the whole message stays within maxBytes, whole characters only',
  () => {
    const buf = formatSyslog({ facility: 1, severity: 'info', time: T, message: 'größe ok' });
    const at = buf.indexOf(Buffer.from([0xef, 0xbb, 0xbf]));
    assert.ok(at > 0, 'BOM present');
    assert.is(buf.subarray(at + 3).toString('utf8'), 'größe ok');
    const ascii = formatSyslog({ facility: 1, severity: 'info', time: T, message: 'plain' });
    assert.is(ascii.indexOf(Buffer.from([0xef, 0xbb, 0xbf])), -1);
    const long = formatSyslog({ facility: 1, severity: 'info', time: T, message: 'é'.repeat(2000) }, 480);
    assert.ok(long.length <= 480, `${long.length} bytes`);
    assert.not.ok(long.toString('utf8').includes('\ufffd'), 'no cut character');
  },
);

format('facility out of range is refused', () => {
  assert.throws(
    () => formatSyslog({ facility: 24, severity: 'info', time: T }),
    /facility must be an integer 0\.\.23, got 24/,
  );
});

format.run();

// ---
const events = suite('alert events');

events('transitions alert; initial records do not', () => {
  assert.is(alertFor({ type: 'server', record: { ...downRecord, cause: 'initial' } }), undefined);
  const down = alertFor({ type: 'server', record: downRecord }) as AlertEvent;
  assert.equal([down.name, down.severity], ['server-down', 'warning']);
  assert.match(down.message, /rs1 \(198\.51\.100\.11:80\) of web is down, weight 0: http: answered 503/);
  const lost = alertFor({
    type: 'quorum',
    record: { service: 'web', met: false, liveWeight: 1, quorum: 3, hysteresis: 1, cause: 'transition' },
  });
  assert.equal([lost?.name, lost?.severity, lost?.fields.live_weight], ['quorum-lost', 'err', '1']);
  const sorry = alertFor({
    type: 'sorry',
    record: { service: 'web', active: true, address: '198.51.100.50', port: 80, cause: 'transition' },
  });
  assert.is(sorry?.name, 'sorry-on');
  assert.is(alertFor({ type: 'score', initial: true, record: { score: 100, components: [] } }), undefined);
});

events('script environment', () => {
  const env = alertEnvironment(alertFor({ type: 'server', record: downRecord }) as AlertEvent, T);
  assert.equal(
    { ...env, TANDEM_MESSAGE: undefined },
    {
      TANDEM_EVENT: 'server-down',
      TANDEM_SEVERITY: 'warning',
      TANDEM_MESSAGE: undefined,
      TANDEM_TIME: '2026-01-02T03:04:05.678Z',
      TANDEM_SERVICE: 'web',
      TANDEM_SERVER: 'rs1',
      TANDEM_ADDRESS: '198.51.100.11',
      TANDEM_PORT: '80',
      TANDEM_STATE: 'down',
      TANDEM_ACTION: 'quiesce',
      TANDEM_WEIGHT: '0',
      TANDEM_CAUSE: 'fall',
      TANDEM_REASON: 'http: answered 503 "busy"',
    },
  );
});

events.run();

// ---
const delivery = suite('alert delivery');

const counters = () => ({ alertsSent: 0, alertErrors: 0 });
const quiet = () => {};

delivery('syslog over UDP to a listener on loopback', async () => {
  const listener = createSocket('udp4');
  await new Promise<void>((resolve) => listener.bind(0, '127.0.0.1', () => resolve()));
  const port = listener.address().port;
  const got = new Promise<string>((resolve) => listener.once('message', (m) => resolve(m.toString('utf8'))));
  const plan: AlertPlan = {
    script: undefined,
    syslog: { host: '127.0.0.1', port, facility: 16, appName: 'tandem-monitor', hostname: undefined },
  };
  const c = counters();
  const clock = new SimClock({ wallOriginMs: T });
  const alerter = new Alerter(plan, { clock, log: quiet, hostname: 'lb-a', procId: '77', counters: c });
  try {
    alerter.send(alertFor({ type: 'server', record: downRecord }) as AlertEvent);
    const text = await got;
    assert.match(
      text,
      /^<132>1 2026-01-02T03:04:05\.678Z lb-a tandem-monitor 77 server-down \[tandem@32473 event="server-down" service="web" server="rs1" address="198\.51\.100\.11" port="80" state="down" action="quiesce" weight="0" cause="fall" reason="http: answered 503 \\"busy\\""\] real server rs1/,
    );
  } finally {
    await alerter.close();
    listener.close();
  }
  assert.equal(c, { alertsSent: 1, alertErrors: 0 });
});

delivery('the alert script gets the event in its environment; a failing script is counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tnd-alert-'));
  try {
    const out = join(dir, 'env.txt');
    const path = join(dir, 'alert.sh');
    writeFileSync(
      path,
      `#!/bin/sh\nenv | grep ^TANDEM_ | sort >> ${out}\necho --- >> ${out}\n[ "$TANDEM_EVENT" != sorry-on ]\n`,
    );
    chmodSync(path, 0o755);
    const c = counters();
    const alerter = new Alerter(
      { syslog: undefined, script: { path, args: [], timeoutMs: 5000, killGraceMs: 500 } },
      { clock: new LinuxClock(), log: quiet, hostname: 'lb-a', procId: '1', counters: c },
    );
    alerter.send(alertFor({ type: 'server', record: downRecord }) as AlertEvent);
    alerter.send(
      alertFor({
        type: 'sorry',
        record: { service: 'web', active: true, address: '198.51.100.50', port: 80, cause: 'transition' },
      }) as AlertEvent,
    );
    for (let i = 0; i < 100 && c.alertsSent + c.alertErrors < 2; i++)
      await new Promise((r) => setTimeout(r, 20));
    await alerter.close();
    const [first, second] = readFileSync(out, 'utf8').split('---\n');
    assert.match(first ?? '', /^TANDEM_ACTION=quiesce$/m);
    assert.match(first ?? '', /^TANDEM_EVENT=server-down$/m);
    assert.match(first ?? '', /^TANDEM_REASON=http: answered 503 "busy"$/m);
    assert.match(first ?? '', /^TANDEM_SERVER=rs1$/m);
    assert.match(first ?? '', /^TANDEM_TIME=\d{4}-\d\d-\d\dT/m);
    assert.match(second ?? '', /^TANDEM_EVENT=sorry-on$/m);
    assert.equal(c, { alertsSent: 1, alertErrors: 1 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

delivery('a hung alert script is stopped at its timeout and does not hold up the next', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tnd-alert-'));
  try {
    const out = join(dir, 'seen.txt');
    const path = join(dir, 'alert.sh');
    writeFileSync(
      path,
      `#!/bin/sh\necho $TANDEM_EVENT >> ${out}\n[ "$TANDEM_EVENT" = server-down ] && sleep 30\nexit 0\n`,
    );
    chmodSync(path, 0o755);
    const c = counters();
    const alerter = new Alerter(
      { syslog: undefined, script: { path, args: [], timeoutMs: 200, killGraceMs: 100 } },
      { clock: new LinuxClock(), log: quiet, hostname: 'lb-a', procId: '1', counters: c },
    );
    const started = performance.now();
    alerter.send(alertFor({ type: 'server', record: downRecord }) as AlertEvent);
    alerter.send(
      alertFor({
        type: 'server',
        record: { ...downRecord, state: 'up', action: 'restore', weight: 1, cause: 'rise' },
      }) as AlertEvent,
    );
    for (let i = 0; i < 100 && c.alertsSent + c.alertErrors < 2; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(performance.now() - started < 1500, 'the second alert ran after the first was stopped');
    await alerter.close();
    assert.equal(readFileSync(out, 'utf8').trim().split('\n'), ['server-down', 'server-up']);
    assert.equal(c, { alertsSent: 1, alertErrors: 1 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

delivery.run();
