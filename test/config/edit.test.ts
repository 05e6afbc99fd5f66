import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as edit from '../../firmware/config/edit.ts';
import { ConfigError } from '../../firmware/config/errors.ts';
import type { ConfigDoc } from '../../firmware/journal/types.ts';

const notFound = (what: RegExp) => (e: unknown) =>
  e instanceof ConfigError && e.code === 'CONFIG_NOT_FOUND' && what.test(e.message);

function farm(): ConfigDoc {
  let d: ConfigDoc = {};
  d = edit.setService(d, 'web', { vip: '192.0.2.10', protocol: 'tcp', port: 80, method: 'nat' });
  d = edit.setServer(d, 'web', 'web1', { address: '198.51.100.11', port: 8080 });
  d = edit.setServer(d, 'web', 'web2', { address: '198.51.100.12' });
  d = edit.setCheck(d, { service: 'web' }, 'tcp', {});
  d = edit.setCheck(d, { service: 'web', server: 'web1' }, 'http', { path: '/health' });
  return d;
}

const services = suite('config edits: services, servers, checks');

services('set creates, then changes only the given fields; the input is never changed', () => {
  const before = farm();
  const frozen = JSON.stringify(before);
  const after = edit.setService(before, 'web', { port: 8000, scheduler: 'wrr' });
  assert.is(JSON.stringify(before), frozen);
  assert.equal(after.services, [
    {
      name: 'web',
      vip: '192.0.2.10',
      protocol: 'tcp',
      port: 8000,
      method: 'nat',
      servers: [
        { name: 'web1', address: '198.51.100.11', port: 8080 },
        { name: 'web2', address: '198.51.100.12' },
      ],
      scheduler: 'wrr',
    },
  ]);
});

services('unset removes fields; delete removes a server or service with its checks', () => {
  let d = edit.unsetService(farm(), 'web', ['port']);
  assert.not.ok('port' in ((d.services as ConfigDoc[])[0] as ConfigDoc));
  d = edit.deleteServer(d, 'web', 'web1');
  assert.equal(d.checks, [{ service: 'web', kind: 'tcp' }], "web1's http check went with it");
  d = edit.deleteService(d, 'web');
  assert.equal(d.services, []);
  assert.equal(d.checks, []);
});

services('checks are keyed by target and kind; set merges fields', () => {
  const d = edit.setCheck(farm(), { service: 'web', server: 'web1' }, 'http', { intervalMs: 500 });
  assert.equal(d.checks, [
    { service: 'web', kind: 'tcp' },
    { service: 'web', server: 'web1', kind: 'http', path: '/health', intervalMs: 500 },
  ]);
  assert.equal(edit.deleteCheck(d, { service: 'web' }, 'tcp').checks, [
    { service: 'web', server: 'web1', kind: 'http', path: '/health', intervalMs: 500 },
  ]);
});

services('edits naming what does not exist say so', () => {
  assert.throws(
    () => edit.setServer({}, 'mail', 'mx1', { address: '198.51.100.25' }),
    notFound(/^service mail does not exist$/),
  );
  assert.throws(() => edit.deleteServer(farm(), 'web', 'web9'), notFound(/server web9 in service web/));
  assert.throws(
    () => edit.setCheck(farm(), { service: 'web', server: 'web9' }, 'tcp', {}),
    notFound(/server web9/),
  );
  assert.throws(
    () => edit.deleteCheck(farm(), { service: 'web' }, 'icmp'),
    notFound(/icmp check on service web/),
  );
});

services('a candidate whose section is not a list is refused, not overwritten', () => {
  assert.throws(
    () => edit.setService({ services: 'oops' }, 'web', {}),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.code === 'CONFIG_BAD_ARGUMENT' &&
      /services is not a list/.test(e.message),
  );
});

services.run();

// ---

const rest = suite('config edits: cluster and users');

rest('cluster fields and priorities', () => {
  let d = edit.setCluster({}, { keepaliveMs: 30, preempt: true });
  d = edit.setPriority(d, 'a', 200);
  d = edit.setPriority(d, 'b', 100);
  assert.equal(d.cluster, { keepaliveMs: 30, preempt: true, priority: { a: 200, b: 100 } });
  d = edit.unsetCluster(d, ['preempt']);
  d = edit.unsetPriority(d, 'b');
  assert.equal(d.cluster, { keepaliveMs: 30, priority: { a: 200 } });
  assert.throws(() => edit.unsetPriority(d, 'b'), notFound(/priority for node b/));
});

rest('a new user needs a role and a hash; an existing one may change either', () => {
  assert.throws(
    () => edit.setUser({}, 'alice', { role: 'admin' }),
    (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_BAD_ARGUMENT',
  );
  let d = edit.setUser({}, 'alice', { role: 'admin', hash: 'h1' });
  d = edit.setUser(d, 'alice', { role: 'operator' });
  assert.equal(d.users, [{ name: 'alice', role: 'operator', hash: 'h1' }]);
  assert.equal(edit.deleteUser(d, 'alice').users, []);
  assert.throws(() => edit.deleteUser(d, 'bob'), notFound(/user bob/));
});

rest.run();
