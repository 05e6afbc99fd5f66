/**
 * One console under test: a socat pty pair (the console port and the operator's end), a real journal on a
 * scratch directory (leader, no peer), the console served on one end and the scripted terminal on the
 * other. Login timings are short so lockout tests take about a second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PtyPair, startPtyPair } from '../../../board/sim/testbed/socat.ts';
import { hashPassword } from '../../../firmware/config/password.ts';
import type { ConsoleBackend } from '../../../firmware/console/backend.ts';
import { journalBackend } from '../../../firmware/console/journal-backend.ts';
import type { LoginPolicy } from '../../../firmware/console/login.ts';
import { type ConsoleHandle, startConsole } from '../../../firmware/console/service.ts';
import type { Journal } from '../../../firmware/journal/api.ts';
import { startJournal } from '../../../firmware/journal/service.ts';
import { LinuxClock } from '../../../hal/clock/linux.ts';
import { HalError } from '../../../hal/errors.ts';
import type { Pinger } from '../../../hal/icmp/types.ts';
import { LinuxSerialDriver } from '../../../hal/serial/linux.ts';
import { TerminalClient } from './terminal.ts';

/** Cheap scrypt for tests; the stored hash carries it. */
export const TEST_SCRYPT = { ln: 10, r: 8, p: 1 };
export const ADMIN = { name: 'admin', password: 'admin-password' };
export const OPERATOR = { name: 'oper', password: 'oper-password' };
export const FAST_POLICY: Partial<LoginPolicy> = {
  maxFailures: 3,
  baseDelayMs: 100,
  maxDelayMs: 400,
  lockoutMs: 1200,
};

export interface World {
  dir: string;
  pty: PtyPair;
  journal: Journal;
  backend: ConsoleBackend;
  console: ConsoleHandle;
  term: TerminalClient;
  close(): Promise<void>;
}

export async function startWorld(
  options: { pinger?: Pinger; policy?: Partial<LoginPolicy> } = {},
): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'tnd-console-'));
  const clock = new LinuxClock();
  const undo: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  /** Undoes everything in reverse order, even past a failing step; then reports the first failure. */
  const close = async (): Promise<void> => {
    let failure: unknown;
    for (const step of undo.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  };
  try {
    const journal = await startJournal({
      dir,
      node: 'a',
      peer: { node: 'b' },
      clusterKey: Buffer.from('tandem-test-cluster-key-0123456789'),
      clock,
      log: () => {},
    });
    undo.push(() => journal.close());
    await journal.promote(1);
    const users = [
      { name: ADMIN.name, hash: await hashPassword(ADMIN.password, { params: TEST_SCRYPT }), role: 'admin' },
      {
        name: OPERATOR.name,
        hash: await hashPassword(OPERATOR.password, { params: TEST_SCRYPT }),
        role: 'operator',
      },
    ];
    await journal.config.commit({ author: 'provisioning', comment: 'factory users', doc: { users } });
    await journal.cluster.setRole('a', 'active');
    const backend = journalBackend(journal, {
      hostname: 'tandem-a',
      version: { firmware: '0.1.0', board: 'sim', node: 'a' },
      ...(options.pinger ? { pinger: options.pinger } : {}),
    });
    const { pty, console } = await serve(dir, undo, (path) =>
      startConsole({
        serial: new LinuxSerialDriver(),
        path,
        baudRate: 115200,
        backend,
        clock,
        policy: { ...FAST_POLICY, ...options.policy },
        hashParams: TEST_SCRYPT,
        log: () => {},
      }),
    );
    const term = await TerminalClient.open(new LinuxSerialDriver(), pty.linkB);
    undo.push(() => term.close());
    return { dir, pty, journal, backend, console, term, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

/**
 * A pty pair with the console on its first end. Other test files running at the same time open ptys
 * too, and one that reopens a stale link of its own can lock a pty number just handed to us (HAL_BUSY):
 * then take a fresh pair.
 */
async function serve(
  dir: string,
  undo: (() => Promise<void>)[],
  start: (path: string) => Promise<ConsoleHandle>,
): Promise<{ pty: PtyPair; console: ConsoleHandle }> {
  for (let attempt = 1; ; attempt++) {
    const pty = await startPtyPair({ dir, nameA: `console-${attempt}`, nameB: `operator-${attempt}` });
    try {
      const console = await start(pty.linkA);
      undo.push(
        () => pty.close(),
        () => console.close(),
      );
      return { pty, console };
    } catch (err) {
      await pty.close();
      if (!HalError.is(err, 'HAL_BUSY') || attempt === 3) throw err;
    }
  }
}

/** Logs in from a fresh login prompt and waits for the command prompt. */
export async function login(term: TerminalClient, user: { name: string; password: string }): Promise<string> {
  term.markNow();
  await term.send('\r');
  await term.waitPrompt(/^login: $/);
  term.markNow();
  await term.send(`${user.name}\r`);
  await term.waitPrompt(/^Password: $/);
  term.markNow();
  await term.send(`${user.password}\r`);
  return term.waitPrompt();
}
