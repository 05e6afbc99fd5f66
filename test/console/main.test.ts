/**
 * firmware/console/main.ts as a process: a board file whose console port is one end of a pty pair, the
 * journal in a scratch directory, a provisioned users file; log in from the other end, then SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type PtyPair, startPtyPair } from '../../board/sim/testbed/socat.ts';
import { tandem1u } from '../../board/tandem-1u.ts';
import { hashPassword } from '../../firmware/config/password.ts';
import { LinuxSerialDriver } from '../../hal/serial/linux.ts';
import { canRun } from '../support/needs.ts';
import { TerminalClient } from './support/terminal.ts';
import { ADMIN, login, TEST_SCRYPT } from './support/world.ts';

interface Ctx {
  dir: string;
  pty: PtyPair;
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: string;
  term: TerminalClient;
}

const ROOT = join(import.meta.dirname, '..', '..');

if (canRun('console process on ptys', { tools: ['socat'] })) {
  const proc = suite<Ctx>('console main.ts: board, drivers, journal, console');

  proc.before(async (ctx) => {
    ctx.dir = mkdtempSync(join(tmpdir(), 'tnd-console-main-'));
    ctx.pty = await startPtyPair({ dir: ctx.dir, nameA: 'console', nameB: 'operator' });
    const board = {
      ...tandem1u,
      serial: { ...tandem1u.serial, console: { ...tandem1u.serial.console, path: ctx.pty.linkA } },
      gpio: { ...tandem1u.gpio, driver: 'sim', chip: 'sim-panel' },
      watchdog: { ...tandem1u.watchdog, driver: 'sim', device: join(ctx.dir, 'watchdog') },
      bootSlots: { ...tandem1u.bootSlots, driver: 'sim', envPath: join(ctx.dir, 'grubenv') },
      storage: { ...tandem1u.storage, journalPath: join(ctx.dir, 'journal', 'journal.db') },
    };
    writeFileSync(join(ctx.dir, 'board.json'), JSON.stringify(board));
    writeFileSync(join(ctx.dir, 'key'), 'tandem-test-cluster-key-0123456789');
    const hash = await hashPassword(ADMIN.password, { params: TEST_SCRYPT });
    writeFileSync(join(ctx.dir, 'users.json'), JSON.stringify([{ name: ADMIN.name, hash, role: 'admin' }]));
    const args = [
      '--import',
      'tsx',
      join(ROOT, 'firmware', 'console', 'main.ts'),
      ...['--board', join(ctx.dir, 'board.json'), '--node', 'a', '--peer', 'b'],
      ...['--key-file', join(ctx.dir, 'key'), '--users-file', join(ctx.dir, 'users.json')],
      ...['--hostname', 'tandem-m', '--lead'],
    ];
    ctx.stderr = '';
    ctx.child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    ctx.child.stderr?.on('data', (d: Buffer) => {
      ctx.stderr += d.toString();
    });
    ctx.exited = new Promise((resolve) => ctx.child.once('exit', (code) => resolve(code)));
    ctx.term = await TerminalClient.open(new LinuxSerialDriver(), ctx.pty.linkB);
  });

  proc.after(async (ctx) => {
    if (ctx.child.exitCode === null && ctx.child.signalCode === null) ctx.child.kill('SIGKILL');
    await ctx.exited;
    await ctx.term.close();
    await ctx.pty.close();
    rmSync(ctx.dir, { recursive: true, force: true });
  });

  proc(
    'the provisioned user logs in while no configuration names users; SIGTERM exits cleanly',
    async (ctx) => {
      await ctx.term.waitPrompt(/^login: $/, 20_000).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\nstderr:\n${ctx.stderr}`);
      });
      assert.is(await login(ctx.term, ADMIN), 'tandem-m(unknown)# ', 'no cluster role recorded yet');
      const out = await ctx.term.run('show version');
      assert.equal(out.slice(0, 3), ['Firmware   Tandem 0.1.0', 'Board      tandem-1u', 'Node       a']);
      const journal = await ctx.term.run('show journal');
      assert.ok(journal.includes('Replication role  leader'), '--lead promoted the journal');
      ctx.child.kill('SIGTERM');
      assert.is(await ctx.exited, 0, ctx.stderr);
    },
  );

  proc.run();
}
