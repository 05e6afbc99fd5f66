/**
 * The front panel as a process (inside the appliance's network namespace on the sim board):
 *
 *   node --import tsx firmware/panel/main.ts --board <tandem-1u|qemu-x86_64|sim|board.json>
 *     [--prefix P --node a|b] [--poll-ms 150] [--stale-ms 1000]
 *
 * Drives the LEDs from the cluster's status (and the supervisor's, when it answers) and turns button
 * presses into requests on their control sockets (runtimePaths(board)). On a board whose GPIO is
 * simulated it also serves the simulated chip on panelSimSocket (sim-server.ts). Prints one
 * `{"ready":true,...}` line on stdout once serving; logs JSON lines on stderr. SIGTERM or SIGINT turns the
 * LEDs off and exits 0; a usage or board error exits 2.
 */
import { mkdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BoardError } from '../../board/errors.ts';
import type { Board } from '../../board/types.ts';
import { buildDrivers, type Drivers } from '../../board/wiring.ts';
import { BOARD_OPTIONS, boardFromArgs, UsageError } from '../runtime/board-args.ts';
import { runtimePaths } from '../runtime/paths.ts';
import { socketAppliance } from './appliance.ts';
import { type PanelHandle, type PanelLog, startPanel } from './service.ts';
import { type SimPanelServer, serveSimPanel } from './sim-server.ts';

const log: PanelLog = (level, message, fields) => {
  process.stderr.write(
    `${JSON.stringify({ t: new Date().toISOString(), level, src: 'panel', msg: message, ...fields })}\n`,
  );
};

const OPTIONS = {
  ...BOARD_OPTIONS,
  'poll-ms': { type: 'string' },
  'stale-ms': { type: 'string' },
} as const;

function positive(value: string | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 10 || n > 60_000) {
    throw new UsageError(
      `--${option} should be an integer from 10 to 60000 (ms), got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function setup(): { board: Board; pollMs: number; staleMs: number } {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ options: OPTIONS, strict: true }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const board = boardFromArgs(values);
  if (!board.supports.includes('panel')) throw new UsageError(`board ${board.name} has no front panel`);
  return {
    board,
    pollMs: positive(values['poll-ms'], 150, 'poll-ms'),
    staleMs: positive(values['stale-ms'], 1000, 'stale-ms'),
  };
}

async function main(): Promise<number> {
  let s: ReturnType<typeof setup>;
  try {
    s = setup();
  } catch (err) {
    log('error', (err as Error).message);
    return 2;
  }
  // Registered before anything starts, so a stop during start-up still closes in order and exits 0.
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const { board } = s;
  const paths = runtimePaths(board);
  let drivers: Drivers | undefined;
  let panel: PanelHandle | undefined;
  let sim: SimPanelServer | undefined;
  try {
    drivers = buildDrivers(board);
    panel = await startPanel({
      gpio: drivers.gpio,
      roles: board.gpio,
      clock: drivers.clock,
      appliance: socketAppliance(paths),
      log,
      pollMs: s.pollMs,
      staleMs: s.staleMs,
    });
    if (board.gpio.driver === 'sim') {
      const chip = drivers.sim.panel;
      if (chip === undefined)
        throw new BoardError('BOARD_INVALID', `board ${board.name}: no simulated panel chip`);
      mkdirSync(paths.dir, { recursive: true });
      const served = panel;
      sim = await serveSimPanel({
        path: paths.panelSimSocket,
        chip,
        roles: board.gpio,
        clock: drivers.clock,
        snapshot: () => served.snapshot(),
      });
    }
    process.stdout.write(
      `${JSON.stringify({ ready: true, pid: process.pid, board: board.name, chip: board.gpio.chip, sim: sim?.path ?? null })}\n`,
    );
    const signal = await stopped;
    log('info', `${signal}: turning the LEDs off`);
    return 0;
  } catch (err) {
    log('error', err instanceof Error ? err.message : String(err));
    return err instanceof BoardError ? 2 : 1;
  } finally {
    await sim?.close();
    await panel?.close();
    await drivers?.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      log('error', err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
