/**
 * The `tandem` command. For now one family of subcommands:
 *   tandem sim up|down|status|exec            the simulated twin-appliance testbed
 *   tandem sim start|stop|power-off|power-on|console <a|b>   its appliances
 * (see board/sim/testbed/cli.ts)
 * Run as `npx tsx scripts/tandem.ts sim up` (or `npm run tandem -- sim up`), as root.
 */
import { SIM_USAGE, simCli } from '../board/sim/testbed/cli.ts';

const USAGE = `usage: tandem <command> ...
  sim   the simulated cluster on this machine (namespaces, links, serial cable, real servers)

${SIM_USAGE}`;

async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'sim':
      return simCli(rest, {
        out: (line) => console.log(line),
        err: (line) => console.error(line),
        isRoot: process.getuid?.() === 0,
        env: process.env,
      });
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return 0;
    default:
      console.error(
        command === undefined ? 'tandem: missing command' : `tandem: unknown command "${command}"`,
      );
      console.error(USAGE);
      return 2;
  }
}

// `tandem sim status | head`: a reader that goes away is not an error of ours.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

process.exitCode = await main(process.argv.slice(2));
