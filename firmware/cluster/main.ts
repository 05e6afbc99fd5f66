/**
 * The cluster process entry. Run it inside the appliance's network namespace:
 *
 *   node --import tsx firmware/cluster/main.ts --config <file.json> --board <name>
 *        [--prefix <testbed prefix> --node a|b]   (the sim board; or TANDEM_SIM_PREFIX / TANDEM_SIM_NODE)
 *        [--control <socket path>]                (default: cluster.sock next to the journal)
 *
 * It is the cluster host (host.ts: journal, takeover, control socket), which starts this same entry with
 * `--heartbeat` as its heartbeat process (heartbeat.ts: links, core, real-time scheduling). Once running
 * it prints one JSON line `{"ready":true,...}` on stdout. SIGTERM or SIGINT: a graceful leave (the ACTIVE
 * hands over), then exit 0. Log lines are JSON on stderr. A configuration error exits with status 2.
 * The configuration file is described in process-config.ts.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { builtinBoard } from '../../board/load.ts';
import type { SimNode } from '../../board/sim.ts';
import { runHeartbeat } from './heartbeat.ts';
import { runHost } from './host.ts';
import { parseProcessConfig } from './process-config.ts';
import { defaultClusterLog } from './service.ts';

const USAGE = 'usage: main.ts --config <file.json> --board <name> [--prefix P --node a|b] [--control S]';

class UsageError extends Error {
  override readonly name = 'UsageError';
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      board: { type: 'string' },
      prefix: { type: 'string' },
      node: { type: 'string' },
      control: { type: 'string' },
      heartbeat: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.config === undefined || values.board === undefined) throw new UsageError(USAGE);
  const config = parseProcessConfig(readFileSync(values.config, 'utf8'), values.config);
  const prefix = values.prefix ?? process.env.TANDEM_SIM_PREFIX;
  const node = values.node ?? process.env.TANDEM_SIM_NODE;
  const simNode: SimNode | undefined = node === 'a' || node === 'b' ? node : undefined;
  const sim = prefix !== undefined && simNode !== undefined ? { prefix, node: simNode } : undefined;
  if (values.board === 'sim' && sim === undefined)
    throw new UsageError('board sim needs --prefix P and --node a|b');
  const board = builtinBoard(values.board, sim);
  if (values.heartbeat) return runHeartbeat(config, board);
  return runHost({
    config,
    board,
    ...(values.control === undefined ? {} : { control: values.control }),
    heartbeat: { module: process.argv[1] as string, args: args.filter((a) => a !== '--heartbeat') },
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const log = defaultClusterLog('cluster');
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
      log('error', err instanceof Error ? err.message : String(err));
      process.exit(
        err instanceof UsageError || code.endsWith('INVALID_CONFIG') || code.startsWith('BOARD_') ? 2 : 1,
      );
    },
  );
}
