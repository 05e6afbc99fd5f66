/**
 * The console as a process (inside the appliance's network namespace on the sim board):
 *
 *   node --import tsx firmware/console/main.ts --board <tandem-1u|qemu-x86_64|sim|board.json>
 *     [--sim-prefix <p> --sim-node a|b] --node <id> --peer <id>[@host:port] [--listen host:port]
 *     --key-file <path> [--hostname <name>] [--users-file <users.json>] [--lead]
 *
 * Board → drivers → journal → console on board.serial.console. `--users-file` holds the users who may log
 * in while the running configuration has none (a JSON list of {name, hash, role}, from provisioning).
 * `--lead` promotes this journal at start, for a lone appliance; in the cluster, the cluster service decides.
 * SIGTERM or SIGINT closes everything in reverse order. Bad arguments exit with status 2.
 */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BUILTIN_BOARDS, builtinBoard, loadBoardFile } from '../../board/load.ts';
import type { SimNode } from '../../board/sim.ts';
import type { Board } from '../../board/types.ts';
import { buildDrivers, type Drivers } from '../../board/wiring.ts';
import type { UserConfig } from '../config/schema.ts';
import { validateConfig } from '../config/validate.ts';
import type { Journal } from '../journal/api.ts';
import { startJournal } from '../journal/service.ts';
import { journalBackend } from './journal-backend.ts';
import { startConsole } from './service.ts';

const log = (level: string, message: string): void => {
  process.stderr.write(`console ${level}: ${message}\n`);
};

class UsageError extends Error {}

function endpoint(text: string, what: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535)
    throw new UsageError(`${what} should be host:port, got ${JSON.stringify(text)}`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

function loadBoard(name: string, prefix: string | undefined, node: string | undefined): Board {
  if (!(BUILTIN_BOARDS as readonly string[]).includes(name)) return loadBoardFile(name);
  if (name !== 'sim') return builtinBoard(name);
  if (prefix === undefined || (node !== 'a' && node !== 'b')) {
    throw new UsageError('--board sim needs --sim-prefix <p> and --sim-node a|b');
  }
  return builtinBoard(name, { prefix, node: node as SimNode });
}

function fallbackUsers(path: string | undefined): UserConfig[] {
  if (path === undefined) return [];
  const users: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const result = validateConfig({ users });
  if (!result.ok)
    throw new UsageError(
      `--users-file ${path}: ${result.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    );
  return result.config.users;
}

const OPTIONS = {
  board: { type: 'string' },
  'sim-prefix': { type: 'string' },
  'sim-node': { type: 'string' },
  node: { type: 'string' },
  peer: { type: 'string' },
  listen: { type: 'string' },
  'key-file': { type: 'string' },
  hostname: { type: 'string' },
  'users-file': { type: 'string' },
  lead: { type: 'boolean' },
} as const;

interface Setup {
  values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];
  board: Board;
  users: UserConfig[];
  key: Buffer;
  node: string;
  peer: string;
}

/** Reads the command line and the files it names; throws UsageError for anything wrong with them. */
function setup(): Setup {
  let values: Setup['values'];
  try {
    ({ values } = parseArgs({ options: OPTIONS, strict: true }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (
    values.board === undefined ||
    values.node === undefined ||
    values.peer === undefined ||
    values['key-file'] === undefined
  ) {
    throw new UsageError('--board, --node, --peer and --key-file are required');
  }
  return {
    values,
    board: loadBoard(values.board, values['sim-prefix'], values['sim-node']),
    users: fallbackUsers(values['users-file']),
    key: readFileSync(values['key-file']),
    node: values.node,
    peer: values.peer,
  };
}

async function main(): Promise<number> {
  let s: Setup;
  try {
    s = setup();
  } catch (err) {
    log('error', (err as Error).message);
    return 2;
  }
  const { values, board, users, key } = s;
  const [peerNode, peerAt] = s.peer.split('@') as [string, string | undefined];
  const stop = new AbortController();
  let drivers: Drivers | undefined;
  let journal: Journal | undefined;
  try {
    drivers = buildDrivers(board);
    journal = await startJournal({
      dir: dirname(board.storage.journalPath),
      node: s.node,
      peer: { node: peerNode, ...(peerAt === undefined ? {} : endpoint(peerAt, '--peer')) },
      ...(values.listen === undefined ? {} : { listen: endpoint(values.listen, '--listen') }),
      clusterKey: key,
      clock: drivers.clock,
      log: (level, message) => log(level, `journal: ${message}`),
    });
    if (values.lead) await journal.promote(journal.status().epoch + 1);
    const bootSlot = await drivers.bootSlots.state().then(
      (state) => state.booted,
      () => undefined,
    );
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const served = await startConsole({
      serial: drivers.serial,
      path: board.serial.console.path,
      baudRate: board.serial.console.baudRate,
      clock: drivers.clock,
      backend: journalBackend(journal, {
        hostname: values.hostname ?? osHostname(),
        version: { firmware: pkg.version, board: board.name, node: s.node, bootSlot },
        pinger: drivers.pinger,
      }),
      fallbackUsers: users,
      log,
      signal: stop.signal,
    });
    log('info', `serving ${board.serial.console.path}`);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
      served.done.then(resolve, resolve);
    });
    await served.close();
    return 0;
  } catch (err) {
    log(
      'error',
      err instanceof UsageError
        ? err.message
        : err instanceof Error
          ? (err.stack ?? err.message)
          : String(err),
    );
    return err instanceof UsageError ? 2 : 1;
  } finally {
    stop.abort();
    await journal?.close();
    await drivers?.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      log('error', err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    },
  );
}
