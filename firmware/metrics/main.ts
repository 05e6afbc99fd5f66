/**
 * The metrics process entry. Run it inside the appliance's network namespace:
 *
 *   node --import tsx firmware/metrics/main.ts --board <name> [--prefix P --node a|b]
 *        [--listen host:port]   (default: the management NIC's address, else 0.0.0.0; port 9100)
 *        [--timeout-ms N]       (per-source time limit of one reading; default 1000)
 *
 * Serves /metrics, /status.json and the status page at /. Prints one `{"ready":true,...}` line on stdout
 * once listening; SIGTERM or SIGINT closes it (exit 0); a usage or configuration error exits 2.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { Board } from '../../board/types.ts';
import { buildDrivers, type Drivers } from '../../board/wiring.ts';
import { BOARD_OPTIONS, boardFromArgs, UsageError } from '../runtime/board-args.ts';
import { runtimePaths } from '../runtime/paths.ts';
import { Collector } from './collector.ts';
import { remoteJournalSource } from './journal-remote.ts';
import { DEFAULT_PORT, type Listen, parseListen, startMetricsServer } from './server.ts';
import { clusterSocketSource, type MetricsSources, supervisorSocketSource } from './sources.ts';
import { nftTrafficSource } from './traffic.ts';

const USAGE = 'usage: main.ts --board <name> [--prefix P --node a|b] [--listen host:port] [--timeout-ms N]';

type Level = 'debug' | 'info' | 'warn' | 'error';
const log = (level: Level, msg: string, fields: Record<string, unknown> = {}): void => {
  process.stderr.write(
    `${JSON.stringify({ t: new Date().toISOString(), level, src: 'metrics', msg, ...fields })}\n`,
  );
};

/** The management NIC's first global address, when the board has one and it is configured. */
async function managementListen(board: Board, drivers: Drivers): Promise<Listen> {
  const nic = board.nics.management;
  if (nic !== null) {
    try {
      const addresses = await drivers.net.addresses(nic);
      const first =
        addresses.find((a) => a.family === 'inet' && a.scope === 'global') ??
        addresses.find((a) => a.scope === 'global');
      if (first !== undefined) return { host: first.address, port: DEFAULT_PORT };
      log('warn', `management NIC ${nic} has no global address: listening on all addresses`);
    } catch (err) {
      log('warn', `management NIC ${nic}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { host: '0.0.0.0', port: DEFAULT_PORT };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { ...BOARD_OPTIONS, listen: { type: 'string' }, 'timeout-ms': { type: 'string' } },
    strict: true,
  });
  const board = boardFromArgs(values);
  const explicit = values.listen === undefined ? undefined : parseListen(values.listen);
  const timeoutMs = values['timeout-ms'] === undefined ? 1000 : Number(values['timeout-ms']);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
    throw new UsageError(`--timeout-ms should be 1..60000, instead got ${values['timeout-ms']}`);
  }
  const drivers = buildDrivers(board);
  const stack: (() => Promise<void>)[] = [() => drivers.close()];
  const closeAll = async (): Promise<void> => {
    for (const close of stack.reverse()) {
      await close().catch((err: unknown) => log('error', `close: ${String(err)}`));
    }
    stack.length = 0;
  };
  try {
    const listen = explicit ?? (await managementListen(board, drivers));
    const paths = runtimePaths(board);
    const journal = remoteJournalSource({
      path: paths.journalSocket,
      clock: drivers.clock,
      log: (level, message) => log(level, `journal: ${message}`),
    });
    stack.push(() => journal.close());
    const sources: MetricsSources = {
      cluster: clusterSocketSource(paths.clusterSocket),
      supervisor: supervisorSocketSource(paths.supervisorSocket),
      forward: nftTrafficSource(drivers.packetFilter),
      journal: journal.read,
    };
    const node = board.name === 'sim' ? (values.node ?? process.env.TANDEM_SIM_NODE ?? 'sim') : hostname();
    const collector = new Collector({ sources, clock: drivers.clock, node, timeoutMs });
    const server = await startMetricsServer(collector, listen, { log, title: `Tandem ${node}` });
    stack.push(() => server.close());
    process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, listen: server.listen })}\n`);
    log('info', `serving /metrics and the status page on ${server.listen}`);
  } catch (err) {
    await closeAll();
    throw err;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log('info', `${signal}: closing`);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve();
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  await closeAll();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usage =
      err instanceof UsageError || (err instanceof TypeError && 'code' in err) || err instanceof RangeError;
    log('error', err instanceof Error ? err.message : String(err));
    if (usage) process.stderr.write(`${USAGE}\n`);
    process.exit(usage || isBoardError(err) ? 2 : 1);
  },
);

function isBoardError(err: unknown): boolean {
  return err instanceof Error && err.name === 'BoardError';
}
