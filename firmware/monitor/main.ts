/**
 * The monitor as a process (run it inside the appliance's network namespace), in one of two modes:
 *
 *   node --import tsx firmware/monitor/main.ts --board <name> [--prefix P --node a|b] [--seed <n>]
 *     The appliance: checks come from the journal's running configuration (followed through commits),
 *     health rows go to the journal (the forwarding service reads them), and the board's client, server
 *     and heartbeat links make up the self-health score the cluster reads. The journal is reached through
 *     its access socket, served by the cluster process.
 *
 *   node --import tsx firmware/monitor/main.ts --config <file.json> [--seed <n>]
 *     Stand-alone (the benchmark, a lab): a JSON configuration file (SIGHUP reloads it), health records as
 *     JSON lines on stdout.
 *
 * Prints `{"ready":true,...}` once started (in the stand-alone mode the stdout lines are records, so it
 * prints nothing). Log lines are JSON on stderr. SIGTERM or SIGINT closes it cleanly. A configuration error
 * at start exits with status 2.
 */
import { randomInt } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Board } from '../../board/types.ts';
import { buildDrivers } from '../../board/wiring.ts';
import { LinuxClock } from '../../hal/clock/linux.ts';
import { LinuxPinger } from '../../hal/icmp/linux.ts';
import { LinuxNet } from '../../hal/net/linux.ts';
import { connectJournal, type RemoteJournal } from '../journal/remote/index.ts';
import { BOARD_OPTIONS, boardFromArgs, UsageError } from '../runtime/board-args.ts';
import { jsonLog } from '../runtime/log.ts';
import { runtimePaths } from '../runtime/paths.ts';
import type { MonitorConfigInput } from './config.ts';
import { FileConfigSource } from './config-source.ts';
import { MonitorError } from './errors.ts';
import { JournalMonitorConfigSource } from './journal-config-source.ts';
import { JournalHealthSink } from './journal-sink.ts';
import { startMonitor } from './service.ts';
import { JsonLinesSink } from './sinks.ts';
import type { HealthSink, Logger, MonitorConfigSource, MonitorDrivers, MonitorHandle } from './types.ts';

const log: Logger = jsonLog('monitor');

/**
 * The appliance's own links in the health score. Losing the client or the server link leaves 57, below
 * the cluster's default minHealth (60): the ACTIVE hands over to a healthy peer. Losing only the heartbeat
 * NIC leaves 86 (the serial cable still carries the heartbeat).
 */
function selfLinks(board: Board): NonNullable<MonitorConfigInput['self']> {
  return {
    links: [
      { role: 'client', link: board.nics.client, weight: 3 },
      { role: 'server', link: board.nics.server, weight: 3 },
      { role: 'heartbeat', link: board.nics.heartbeat, weight: 1 },
    ],
  };
}

interface Wiring {
  drivers: MonitorDrivers;
  source: MonitorConfigSource;
  sink: HealthSink;
  /** Said once the monitor runs; undefined in the stand-alone mode (stdout carries records). */
  ready?: () => void;
  close(): Promise<void>;
}

async function applianceWiring(values: { board?: string; prefix?: string; node?: string }): Promise<Wiring> {
  const board = boardFromArgs(values);
  const drivers = buildDrivers(board);
  let journal: RemoteJournal;
  try {
    journal = await connectJournal({
      path: runtimePaths(board).journalSocket,
      timeoutMs: 30_000,
      reconnectMs: 500,
      log: (level, message) => log(level, message),
    });
  } catch (err) {
    await drivers.close();
    throw err;
  }
  const fromJournal = new JournalMonitorConfigSource(journal, log);
  const self = selfLinks(board);
  const source: MonitorConfigSource = {
    current: () => ({ ...fromJournal.current(), self }),
    subscribe: (listener) => fromJournal.subscribe((config) => listener({ ...config, self })),
  };
  return {
    drivers: { clock: drivers.clock, pinger: drivers.pinger, net: drivers.net },
    source,
    sink: new JournalHealthSink(journal),
    ready: () => process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`),
    close: async () => {
      await journal.close();
      await drivers.close();
    },
  };
}

function standaloneWiring(path: string): Wiring {
  let source: FileConfigSource;
  try {
    source = new FileConfigSource(path);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const clock = new LinuxClock();
  const pinger = new LinuxPinger({ clock });
  const net = new LinuxNet({ clock });
  process.on('SIGHUP', () => {
    try {
      source.reload();
    } catch (err) {
      log('error', `reload refused: ${(err as Error).message}`);
    }
  });
  return {
    drivers: { clock, pinger, net },
    source,
    sink: new JsonLinesSink(process.stdout),
    close: async () => {
      await pinger.close();
      await net.close();
    },
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { ...BOARD_OPTIONS, config: { type: 'string' }, seed: { type: 'string' } },
    strict: true,
  });
  const seed = values.seed === undefined ? randomInt(0, 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got ${values.seed}`);
  if ((values.config === undefined) === (values.board === undefined)) {
    throw new UsageError('give either --board <name> (the appliance) or --config <file.json> (stand-alone)');
  }
  const wiring =
    values.config === undefined ? await applianceWiring(values) : standaloneWiring(values.config);
  let handle: MonitorHandle;
  try {
    handle = await startMonitor(wiring.drivers, wiring.source, wiring.sink, { seed, log });
  } catch (err) {
    await wiring.close();
    throw err;
  }
  wiring.ready?.();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await handle.close();
  await wiring.close();
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      log('error', err instanceof Error ? err.message : String(err));
      const usage =
        err instanceof UsageError ||
        MonitorError.is(err, 'MONITOR_INVALID_CONFIG') ||
        (err instanceof Error && 'code' in err && String(err.code).startsWith('BOARD_'));
      process.exitCode = usage ? 2 : 1;
    },
  );
}
