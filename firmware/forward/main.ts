/**
 * The forwarding service as a process (inside the appliance's network namespace):
 *
 *   node --import tsx firmware/forward/main.ts --board <name> [--prefix P --node a|b]
 *
 * Board → drivers → the journal's access socket (served by the cluster process) → the nftables data
 * plane on the board's client and server links, kept equal to the running configuration and the monitor's
 * health rows. Both appliances program the same tables, so established flows survive a failover. Prints
 * `{"ready":true,...}` once the first apply has settled; SIGTERM or SIGINT closes it and leaves the kernel
 * as it is (the peer's tables are the same, and the next start reconciles). Log lines are JSON on stderr.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildDrivers } from '../../board/wiring.ts';
import { connectJournal } from '../journal/remote/client.ts';
import { BOARD_OPTIONS, boardFromArgs, UsageError } from '../runtime/board-args.ts';
import { jsonLog } from '../runtime/log.ts';
import { runtimePaths } from '../runtime/paths.ts';
import { TrackerConnectionReader } from './connections.ts';
import { JournalForwardingSource } from './journal-source.ts';
import { NftForwardingPlane } from './nft/plane.ts';
import { startForwarding } from './service.ts';

const log = jsonLog('forward');

async function main(): Promise<number> {
  const { values } = parseArgs({ options: BOARD_OPTIONS, strict: true });
  const board = boardFromArgs(values);
  const drivers = buildDrivers(board);
  // The cluster process serves the journal and may start after us or restart: wait for it, and follow it.
  const journal = await connectJournal({
    path: runtimePaths(board).journalSocket,
    timeoutMs: 30_000,
    reconnectMs: 500,
    log: (level, message) => log(level, message),
  });
  const plane = new NftForwardingPlane(drivers.packetFilter, {
    clientLink: board.nics.client,
    serverLink: board.nics.server,
  });
  const service = startForwarding({
    source: new JournalForwardingSource(journal),
    plane,
    // lc/wlc: the slot tables follow the servers' open connections, as conntrack counts them.
    connections: new TrackerConnectionReader(drivers.conntrack),
    clock: drivers.clock,
    reweightMs: 2000,
    onError: (err) => log('error', err.message, { code: err.code }),
    onApplied: (result, desired) => log('info', `applied ${desired.services.length} services`, { ...result }),
  });
  await service.settled();
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await service.close();
  await journal.close();
  await drivers.close();
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      log('error', err instanceof Error ? err.message : String(err));
      const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
      process.exit(err instanceof UsageError || code.startsWith('BOARD_') ? 2 : 1);
    },
  );
}
