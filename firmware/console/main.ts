/**
 * The console as a process, in one of two modes.
 *
 * On an appliance (the supervisor starts it so), inside the node's network namespace on the sim board:
 *
 *   node --import tsx firmware/console/main.ts --board <name> [--prefix P --node a|b]
 *     [--hostname <name>] [--users-file <users.json>]
 *
 * Board → drivers → the journal's access socket and the live services (appliance-backend.ts) → console on
 * board.serial.console. Prints `{"ready":true,...}` once the port is served.
 *
 * Stand-alone, with a journal of its own (a lab bench, the console's own tests):
 *
 *   node --import tsx firmware/console/main.ts --board <tandem-1u|qemu-x86_64|sim|board.json>
 *     [--sim-prefix <p> --sim-node a|b] --node <id> --peer <id>[@host:port] [--listen host:port]
 *     --key-file <path> [--hostname <name>] [--users-file <users.json>] [--lead]
 *
 * `--users-file` holds the users who may log in while the running configuration has none (a JSON list of
 * {name, hash, role}, from provisioning). `--lead` promotes the stand-alone journal at start, for a lone
 * appliance. SIGTERM or SIGINT closes everything in reverse order. Bad arguments exit with status 2.
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
import { connectJournal } from '../journal/remote/index.ts';
import { startJournal } from '../journal/service.ts';
import { boardFromArgs } from '../runtime/board-args.ts';
import { runtimePaths } from '../runtime/paths.ts';
import { applianceBackend } from './appliance-backend.ts';
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
  prefix: { type: 'string' },
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

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** The appliance mode: the journal and the services of the running appliance. */
async function runAppliance(values: Setup['values']): Promise<number> {
  let board: Board;
  let users: UserConfig[];
  try {
    board = boardFromArgs(values);
    users = fallbackUsers(values['users-file']);
  } catch (err) {
    log('error', (err as Error).message);
    return 2;
  }
  const stop = new AbortController();
  const drivers = buildDrivers(board);
  const closing: (() => Promise<void> | void)[] = [() => drivers.close()];
  try {
    const journal = await connectJournal({
      path: runtimePaths(board).journalSocket,
      timeoutMs: 30_000,
      reconnectMs: 500,
      signal: stop.signal,
      log: (level, message) => log(level, `journal: ${message}`),
    });
    closing.push(() => journal.close());
    const bootSlot = await drivers.bootSlots.state().then(
      (state) => state.booted,
      () => undefined,
    );
    const live = applianceBackend(journal, {
      // The simulated pair shares the host's name: name each box after its node instead.
      hostname: values.hostname ?? (board.name === 'sim' ? `tandem-${journal.node}` : osHostname()),
      version: { firmware: packageVersion(), board: board.name, node: journal.node, bootSlot },
      pinger: drivers.pinger,
      paths: runtimePaths(board),
      ...(board.name === 'sim' ? { peer: journal.node === 'a' ? 'b' : 'a' } : {}),
      clock: drivers.clock,
      packetFilter: drivers.packetFilter,
    });
    closing.push(() => live.close());
    const served = await startConsole({
      serial: drivers.serial,
      path: board.serial.console.path,
      baudRate: board.serial.console.baudRate,
      clock: drivers.clock,
      backend: live.backend,
      fallbackUsers: users,
      log,
      signal: stop.signal,
    });
    closing.push(() => served.close());
    process.stdout.write(
      `${JSON.stringify({ ready: true, pid: process.pid, port: board.serial.console.path })}\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
      served.done.then(resolve, resolve);
    });
    return 0;
  } catch (err) {
    log('error', err instanceof Error ? err.message : String(err));
    return 1;
  } finally {
    stop.abort();
    for (const close of closing.reverse()) await close();
  }
}

async function main(): Promise<number> {
  let s: Setup;
  try {
    const { values } = parseArgs({ options: OPTIONS, strict: true });
    if (values['key-file'] === undefined && values.peer === undefined) return runAppliance(values);
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
    const served = await startConsole({
      serial: drivers.serial,
      path: board.serial.console.path,
      baudRate: board.serial.console.baudRate,
      clock: drivers.clock,
      backend: journalBackend(journal, {
        hostname: values.hostname ?? osHostname(),
        version: { firmware: packageVersion(), board: board.name, node: s.node, bootSlot },
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
