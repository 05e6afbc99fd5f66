/**
 * The README's first command, end to end: scripts/demo.ts on a testbed of its own. It boots the pair,
 * commits the configuration, kills a real server, cuts the active's power, presses the failover button
 * and tears everything down; each step waits for what it shows, so a broken step fails the demo.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { listNetns } from '../../board/sim/testbed/netns.ts';
import { canRun } from '../support/needs.ts';

const ROOT = join(import.meta.dirname, '..', '..');

if (canRun('the demo', { root: true, tools: ['ip', 'socat', 'nft', 'arping', 'curl'] })) {
  const demo = suite('scripts/demo.ts');

  demo('walks the whole scenario and leaves nothing behind', async () => {
    const prefix = `tnd-t${process.pid}-demo`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'scripts', 'demo.ts'), '--prefix', prefix],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGINT'), 180_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    assert.is(code, 0, out);
    for (const step of [
      /A is ACTIVE, B STANDBY/,
      /version 1 on A, replication acked/,
      /the monitor took rs2 out of rotation/,
      /[AB] took over/,
      // As STANDBY, or (on a starved host) a takeover it then says plainly: one ACTIVE either way.
      /[AB] rejoined( as STANDBY|, then became ACTIVE)/,
      /graceful switchover to [AB]/,
      /demo finished/,
    ]) {
      assert.match(out, step, out);
    }
    assert.equal(
      (await listNetns()).filter((ns) => ns.startsWith(prefix)),
      [],
    );
  });

  demo.run();
}
