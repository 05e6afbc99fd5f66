import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type CliIo, parseSimArgs, simCli, UsageError } from '../../board/sim/testbed/cli.ts';

function io(isRoot: boolean): CliIo & { outLines: string[]; errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return {
    outLines,
    errLines,
    out: (l) => outLines.push(l),
    err: (l) => errLines.push(l),
    isRoot,
    env: {},
  };
}

const parse = suite('parseSimArgs');

parse('up, down, status with prefix and real server count', () => {
  assert.equal(parseSimArgs(['up']), { kind: 'up', prefix: 'tnd', realServers: undefined });
  assert.equal(parseSimArgs(['up', '--prefix', 'tnd-x', '--real-servers', '5']), {
    kind: 'up',
    prefix: 'tnd-x',
    realServers: 5,
  });
  assert.equal(parseSimArgs(['status', '--prefix=tnd-y']), {
    kind: 'status',
    prefix: 'tnd-y',
    realServers: undefined,
  });
  assert.equal(parseSimArgs(['down']), { kind: 'down', prefix: 'tnd' });
});

parse('TANDEM_SIM_PREFIX is the default prefix; --prefix wins', () => {
  const env = { TANDEM_SIM_PREFIX: 'tnd-env' };
  assert.equal(parseSimArgs(['down'], env), { kind: 'down', prefix: 'tnd-env' });
  assert.equal(parseSimArgs(['down', '--prefix', 'tnd-flag'], env), { kind: 'down', prefix: 'tnd-flag' });
});

parse('exec passes everything after -- untouched, options included', () => {
  assert.equal(parseSimArgs(['exec', 'rs2', '--', 'sh', '-c', 'echo --prefix']), {
    kind: 'exec',
    prefix: 'tnd',
    node: 'rs2',
    argv: ['sh', '-c', 'echo --prefix'],
  });
  assert.equal(parseSimArgs(['--prefix', 'tnd-q', 'exec', 'a', '--', 'ip', 'a']), {
    kind: 'exec',
    prefix: 'tnd-q',
    node: 'a',
    argv: ['ip', 'a'],
  });
});

parse('bad input is a UsageError that says what is wrong', () => {
  const cases: [string[], RegExp][] = [
    [[], /missing command/],
    [['begin'], /unknown command "begin"/],
    [['up', '--bogus'], /bogus/],
    [['up', 'extra'], /takes no arguments/],
    [['up', '--real-servers', 'three'], /"three" is not a whole number/],
    [['down', '--real-servers', '2'], /down takes no --real-servers/],
    [['exec'], /needs a node/],
    [['exec', 'a', 'true'], /needs "--"/],
    [['exec', 'a', '--'], /needs a command/],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseSimArgs(args),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
      args.join(' '),
    );
  }
});

parse.run();

// ---

const cli = suite('simCli');

cli('usage errors exit 2 with the usage on stderr', async () => {
  const out = io(true);
  assert.is(await simCli(['frobnicate'], out), 2);
  assert.match(out.errLines.join('\n'), 'unknown command "frobnicate"');
  assert.match(out.errLines.join('\n'), 'usage: tandem sim');
});

cli('--help exits 0 with the usage', async () => {
  const out = io(false);
  assert.is(await simCli(['--help'], out), 0);
  assert.match(out.outLines.join('\n'), 'exec <node> -- <cmd...>');
});

cli('not root: a clear error and exit 1, before touching anything', async () => {
  const out = io(false);
  assert.is(await simCli(['up'], out), 1);
  assert.match(out.errLines.join('\n'), 'needs root');
});

cli('a prefix that is not ours is refused with exit 1, naming it', async () => {
  const out = io(true);
  assert.is(await simCli(['down', '--prefix', 'prod'], out), 1);
  assert.match(out.errLines.join('\n'), '"prod"');
});

cli.run();
