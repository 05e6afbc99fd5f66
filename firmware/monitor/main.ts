/**
 * The monitor as a process (run it inside the appliance's network namespace):
 *   node --import tsx firmware/monitor/main.ts --config <file.json> [--seed <n>]
 * Builds the Linux drivers, reads the JSON configuration (SIGHUP reloads it), writes health records as
 * JSON lines on stdout (until the journal implements the HealthSink) and its log as JSON lines on stderr.
 * SIGTERM or SIGINT closes it cleanly. A configuration error at start exits with status 2.
 */
import { randomInt } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { LinuxClock } from '../../hal/clock/linux.ts';
import { LinuxPinger } from '../../hal/icmp/linux.ts';
import { LinuxNet } from '../../hal/net/linux.ts';
import { FileConfigSource } from './config-source.ts';
import { MonitorError } from './errors.ts';
import { startMonitor } from './service.ts';
import { JsonLinesSink } from './sinks.ts';
import type { Logger } from './types.ts';

const log: Logger = (level, message, fields) => {
  process.stderr.write(
    `${JSON.stringify({ t: new Date().toISOString(), level, msg: message, ...fields })}\n`,
  );
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { config: { type: 'string' }, seed: { type: 'string' } },
    strict: true,
  });
  if (values.config === undefined) {
    log('error', 'usage: main.ts --config <file.json> [--seed <n>]');
    return 2;
  }
  const seed = values.seed === undefined ? randomInt(0, 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seed)) {
    log('error', `--seed must be an integer, got ${values.seed}`);
    return 2;
  }
  let source: FileConfigSource;
  try {
    source = new FileConfigSource(values.config);
  } catch (err) {
    log('error', (err as Error).message);
    return 2;
  }
  const clock = new LinuxClock();
  const pinger = new LinuxPinger({ clock });
  const net = new LinuxNet({ clock });
  const closeDrivers = async (): Promise<void> => {
    await pinger.close();
    await net.close();
  };
  let handle: Awaited<ReturnType<typeof startMonitor>>;
  try {
    handle = await startMonitor({ clock, pinger, net }, source, new JsonLinesSink(process.stdout), {
      seed,
      log,
    });
  } catch (err) {
    log('error', (err as Error).message);
    await closeDrivers();
    return MonitorError.is(err, 'MONITOR_INVALID_CONFIG') ? 2 : 1;
  }
  process.on('SIGHUP', () => {
    try {
      source.reload();
    } catch (err) {
      log('error', `reload refused: ${(err as Error).message}`);
    }
  });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await handle.close();
  await closeDrivers();
  return 0;
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
