import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ADMIN_ONLY,
  type CompletionContext,
  configure,
  operational,
} from '../../firmware/console/commands.ts';
import { formatParseError, type Grammar, type ParseResult } from '../../firmware/console/grammar.ts';
import type { ConfigDoc } from '../../firmware/journal/types.ts';

const doc: ConfigDoc = {
  services: [
    { name: 'web', servers: [{ name: 'web1' }, { name: 'web2' }] },
    { name: 'dns', servers: [] },
  ],
  users: [{ name: 'admin' }],
  cluster: { priority: { a: 200 } },
};
const ctx: CompletionContext = { doc: () => doc };

function parsed(g: Grammar<CompletionContext>, line: string) {
  const r: ParseResult = g.parse(line);
  if (!r.ok) assert.unreachable(formatParseError(r.error));
  return r.ok ? r.parsed : undefined;
}

const tree = suite('console commands: the grammar data');

tree('operational commands parse to their handlers', () => {
  assert.is(parsed(operational, 'show version')?.command, 'show.version');
  assert.equal(parsed(operational, 'show servers service web')?.options, { service: 'web' });
  assert.equal(parsed(operational, 'show log last 50')?.options, { last: 50 });
  assert.equal(parsed(operational, 'maintenance on')?.args, { on: true });
  assert.equal(parsed(operational, 'ping 192.0.2.1 count 3')?.options, { count: 3 });
  assert.equal(parsed(operational, 'update bundle /tmp/fw.tar')?.options, { bundle: '/tmp/fw.tar' });
});

tree('configure commands map option words to document fields', () => {
  const s = parsed(configure, 'set service web vip 192.0.2.10 protocol tcp port 80 method nat scheduler wrr');
  assert.equal(s?.options, { vip: '192.0.2.10', protocol: 'tcp', port: 80, method: 'nat', scheduler: 'wrr' });
  const c = parsed(
    configure,
    'set service web server web1 check http path /health expect-status 200,300-399 field maxBodyBytes 4096',
  );
  assert.equal(c?.args, { service: 'web', server: 'web1', kind: 'http' });
  assert.equal(c?.options, {
    path: '/health',
    'expect-status': [200, '300-399'],
    field: [['maxBodyBytes', 4096]],
  });
  assert.equal(parsed(configure, 'set cluster keepalive 20 preempt on')?.options, {
    keepalive: 20,
    preempt: true,
  });
  assert.equal(parsed(configure, 'set cluster priority a 150')?.args, { node: 'a', priority: 150 });
  assert.equal(parsed(configure, 'delete service web port')?.options, { port: true });
  assert.is(parsed(configure, 'rollback 3')?.command, 'rollback');
});

tree('commands that change things are never run from an abbreviation', () => {
  for (const [g, line] of [
    [operational, 'reb'],
    [operational, 'fail'],
    [operational, 'logo'],
    [configure, 'comm'],
    [configure, 'disc'],
    [configure, 'del service web'],
  ] as const) {
    assert.not.ok(g.parse(line).ok, line);
  }
  assert.is(parsed(configure, 'sh dif')?.command, 'show.diff', 'reading may be abbreviated');
});

tree('names complete from the document being edited', () => {
  assert.equal(configure.complete('set service ', ctx).candidates, ['web', 'dns']);
  assert.equal(configure.complete('set service web server w', ctx).candidates, ['web1', 'web2']);
  assert.equal(configure.complete('delete user ', ctx).candidates, ['admin']);
  assert.equal(configure.complete('delete cluster priority ', ctx).candidates, ['a']);
  assert.equal(configure.complete('set service web check ', ctx).candidates.slice(0, 3), [
    'tcp',
    'http',
    'https',
  ]);
});

tree('only admins configure or act on the cluster', () => {
  assert.equal([...ADMIN_ONLY].sort(), ['configure', 'failover', 'maintenance', 'reboot', 'update']);
});

tree.run();
