/**
 * firmware/panel/main.ts as a process: a sim board (no namespace) whose state directory is a temp dir,
 * fake cluster and supervisor control sockets there, and the simulated panel driven through its socket.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { simPanelClient } from '../../firmware/panel/sim-client.ts';
import { runtimePaths } from '../../firmware/runtime/paths.ts';
import {
  fakeCluster,
  fakeSupervisor,
  status,
  supervisorStatus,
  tempDir,
  until,
  writeBoard,
} from './support.ts';

const REPO = join(import.meta.dirname, '..', '..');
const MAIN = join(REPO, 'firmware', 'panel', 'main.ts');

interface Proc {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: Proc = {
    child,
    stdout: [],
    stderr: [],
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => p.stdout.push(l));
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => p.stderr.push(l));
  return p;
}

/** Kills by PID if still running (the test's own child). */
function kill(p: Proc): void {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}

async function exitCode(p: Proc, timeoutMs = 15_000): Promise<number | null> {
  const timer = setTimeout(() => kill(p), timeoutMs);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}

const e2e = suite('panel main: end to end on real sockets');

e2e('ready line, LEDs, a failover press, a 10 s reset hold, SIGTERM', async () => {
  const { dir, remove } = tempDir();
  const { board, path } = writeBoard(dir);
  const paths = runtimePaths(board);
  const cluster = await fakeCluster(paths.clusterSocket, status('STANDBY', 'up', 'warn'));
  const supervisor = await fakeSupervisor(paths.supervisorSocket, supervisorStatus());
  const p = start(['--board', path, '--poll-ms', '100']);
  try {
    const ready = await until('the ready line', () => p.stdout[0], 20_000);
    const r = JSON.parse(ready) as { ready: boolean; pid: number; sim: string };
    assert.equal([r.ready, r.pid, r.sim], [true, p.child.pid, paths.panelSimSocket]);
    const client = simPanelClient(r.sim);
    const leds = await until('STANDBY LEDs', async () => {
      const l = await client.leds();
      return l.standby === 'solid' && l.ethLink === 'blink' ? l : undefined;
    });
    assert.equal(leds, {
      power: 'solid',
      active: 'off',
      standby: 'solid',
      fault: 'off',
      serialLink: 'solid',
      ethLink: 'blink',
    });

    await client.press('failover', 200);
    await until('failover reached the cluster', () => (cluster.state.commands.length ? true : undefined));
    assert.equal(cluster.state.commands, ['failover']);

    const t0 = performance.now();
    await client.hold('reset');
    await until(
      'the confirmation pattern',
      async () => (Object.values(await client.leds()).every((x) => x === 'fast-blink') ? true : undefined),
      15_000,
    );
    const confirmedAfter = performance.now() - t0;
    assert.ok(confirmedAfter >= 9_900, `confirmation after ${Math.round(confirmedAfter)} ms`);
    await client.release('reset');
    const reset = await until(
      'the factory reset request',
      () => supervisor.state.requests.find((q) => (q as { op: string }).op === 'factory-reset'),
      6000,
    );
    assert.equal(reset, { op: 'factory-reset' });
    assert.ok(performance.now() - t0 >= 12_900, 'after the 3 s confirmation');
    assert.equal(
      (await client.patterns()).requests.map((q) => [q.what, q.ok]),
      [
        ['failover', true],
        ['factory-reset', true],
      ],
    );

    p.child.kill('SIGTERM');
    assert.is(await exitCode(p), 0);
    assert.ok(p.stderr.some((l) => /SIGTERM: turning the LEDs off/.test(l)));
    assert.not.ok(existsSync(paths.panelSimSocket), 'the sim socket is removed');
  } finally {
    kill(p);
    await cluster.server.close();
    await supervisor.server.close();
    remove();
  }
});

e2e('no cluster at all: serves anyway, fault solid; SIGINT exits 0', async () => {
  const { dir, remove } = tempDir();
  const { path } = writeBoard(dir);
  const p = start(['--board', path, '--stale-ms', '300']);
  try {
    const r = JSON.parse(await until('the ready line', () => p.stdout[0], 20_000)) as { sim: string };
    const client = simPanelClient(r.sim);
    await until('fault solid', async () => ((await client.leds()).fault === 'solid' ? true : undefined));
    p.child.kill('SIGINT');
    assert.is(await exitCode(p), 0);
  } finally {
    kill(p);
    remove();
  }
});

e2e.run();

// ---

const usage = suite('panel main: usage and board errors exit 2');

usage('missing --board, sim without a node, a bad --poll-ms, a namespace board outside it', async () => {
  const { dir, remove } = tempDir();
  const { path } = writeBoard(dir);
  try {
    const cases: [string[], RegExp][] = [
      [[], /--board .* is required/],
      [['--board', 'sim', '--prefix', 'tndx'], /--node a\|b/],
      [['--board', path, '--poll-ms', 'soon'], /--poll-ms should be an integer .* got .*soon/],
      [['--board', 'sim', '--prefix', 'tndnowhere', '--node', 'a'], /ip netns exec tndnowhere-a/],
      [['--board', path, '--verbose'], /verbose/],
    ];
    const procs = cases.map(([args]) => start(args));
    for (const [i, proc] of procs.entries()) {
      const [args, re] = cases[i] as [string[], RegExp];
      assert.is(await exitCode(proc), 2, args.join(' '));
      assert.ok(
        proc.stderr.some((l) => re.test(l)),
        `${args.join(' ')}: ${proc.stderr.join(' | ')}`,
      );
      assert.equal(proc.stdout, []);
    }
  } finally {
    remove();
  }
});

usage.run();
