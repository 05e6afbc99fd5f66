/**
 * The supervisor process: the appliance's first process (on the testbed, inside the node's namespace):
 *
 *   node --import tsx firmware/supervisor/main.ts --board sim --prefix P --node a --provision <file>
 *        [--services cluster,forward,...]  run only these (each with what it needs); default: all that exist
 *        [--watchdog-timeout S]            program the watchdog with S seconds (default: the board's)
 *        [--crash-limit N]                 crashes within a minute before a service is failed (default 5)
 *        [--no-bundle]                     run every entry point through tsx
 *
 * It starts the services of services.ts in dependency order, restarts crashed ones with back-off,
 * escalates, feeds the watchdog while the critical services are healthy and serves its control socket
 * (control.ts). Once every service is up it prints one line `{"ready":true,...}` on stdout. SIGTERM or
 * SIGINT: the ordered shutdown (services in reverse order, the cluster last: it hands over and releases
 * the floating addresses), the watchdog's magic close, exit 0. A bite of the simulated watchdog: exit 3
 * (EXIT_WATCHDOG_RESET) after SIGKILLing every service. Bad arguments: exit 2. Logs: JSON lines on
 * stderr; the services' JSON log lines pass through with a `svc` field added.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildDrivers, type Drivers } from '../../board/wiring.ts';
import { controlRequest } from '../cluster/control.ts';
import { BOARD_OPTIONS, boardFromArgs, UsageError } from '../runtime/board-args.ts';
import { runtimePaths } from '../runtime/paths.ts';
import { type Prepared, prepareEntry, REPO_ROOT } from './bundle.ts';
import { startSupervisorControl } from './control.ts';
import { SupervisorError } from './errors.ts';
import { APPLIANCE_SERVICES, type LaunchContext, selectServices } from './services.ts';
import { type RunnableService, type SupervisorLog, startSupervisor } from './supervisor.ts';
import { openWatchdog, type WatchdogFeeder } from './watchdog.ts';

const USAGE =
  'usage: main.ts --board <name> [--prefix P --node a|b] --provision <file> [--services a,b] ' +
  '[--watchdog-timeout S] [--crash-limit N] [--no-bundle]';

const log: SupervisorLog = (level, msg, fields) => {
  process.stderr.write(
    `${JSON.stringify({ t: new Date().toISOString(), level, src: 'supervisor', msg, ...fields })}\n`,
  );
};

/** A service's line: its JSON log lines gain a `svc` field; anything else is wrapped in one. */
function forwardLine(service: string, line: string): void {
  if (line.length > 2 && line.startsWith('{') && line.endsWith('}')) {
    process.stderr.write(`{"svc":${JSON.stringify(service)},${line.slice(1)}\n`);
  } else {
    process.stderr.write(
      `${JSON.stringify({ t: new Date().toISOString(), level: 'info', src: service, svc: service, msg: line })}\n`,
    );
  }
}

function positiveInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new UsageError(`${flag} should be a whole number >= 1, got "${text}"`);
  return Number(text);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      ...BOARD_OPTIONS,
      provision: { type: 'string' },
      services: { type: 'string' },
      'watchdog-timeout': { type: 'string' },
      'crash-limit': { type: 'string' },
      'no-bundle': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const board = boardFromArgs(values);
  const watchdogTimeoutS = positiveInt(values['watchdog-timeout'], '--watchdog-timeout');
  const crashLimit = positiveInt(values['crash-limit'], '--crash-limit');
  if (values.provision !== undefined && !existsSync(values.provision)) {
    throw new UsageError(`--provision ${values.provision}: no such file`);
  }
  const paths = runtimePaths(board);
  mkdirSync(paths.dir, { recursive: true });
  const boardArgs = ['--board', values.board as string];
  if (board.name === 'sim') {
    boardArgs.push('--prefix', values.prefix ?? (process.env.TANDEM_SIM_PREFIX as string));
    boardArgs.push('--node', values.node ?? (process.env.TANDEM_SIM_NODE as string));
  }
  const ctx: LaunchContext = { boardArgs, provision: values.provision, clusterSocket: paths.clusterSocket };
  const entries = selectServices(APPLIANCE_SERVICES, {
    ...(values.services === undefined ? {} : { only: values.services.split(',').map((s) => s.trim()) }),
    warn: (line) => log('warn', line),
  });
  const args = entries.map((e) => e.args(ctx));

  const prepared: Prepared[] = await Promise.all(
    entries.map((e) => prepareEntry(e.name, join(REPO_ROOT, e.entry), e.bundle && !values['no-bundle'])),
  );
  const cleanup = (): void => {
    for (const p of prepared) p.cleanup();
  };
  let drivers: Drivers | undefined;
  try {
    drivers = buildDrivers(board);
    let watchdog: WatchdogFeeder | undefined;
    try {
      watchdog = await openWatchdog(
        drivers,
        watchdogTimeoutS === undefined ? {} : { timeoutS: watchdogTimeoutS },
      );
    } catch (err) {
      log('error', `running without the watchdog: ${err instanceof Error ? err.message : String(err)}`);
    }
    const services: RunnableService[] = entries.map((e, i) => {
      const { probe, args: _args, entry: _entry, bundle: _bundle, ...spec } = e;
      return {
        ...spec,
        argv: [...(prepared[i] as Prepared).argv, ...(args[i] as string[])],
        ...(probe === undefined ? {} : { probe: () => probe(ctx) }),
      };
    });
    const sup = startSupervisor({
      services,
      ...(crashLimit === undefined ? {} : { policy: { crashLimit } }),
      clock: drivers.clock,
      log,
      stepDown: async () => {
        const answer = (await controlRequest(
          paths.clusterSocket,
          {
            op: 'command',
            command: 'maintenance-on',
          },
          3000,
        )) as { ok?: unknown; error?: { message?: string } };
        if (answer.ok === undefined) log('error', `maintenance-on refused: ${answer.error?.message ?? '?'}`);
        return answer.ok !== undefined;
      },
      ...(watchdog === undefined ? {} : { watchdog }),
      stateDir: paths.dir,
      keepOnReset: ['supervisor.sock'],
      onServiceLine: forwardLine,
    });
    const control = await startSupervisorControl(paths.supervisorSocket, {
      status: () => sup.status(),
      restart: (service) => sup.restart(service),
      factoryReset: () => sup.factoryReset(),
      reboot: () => sup.reboot(),
      shutdown: () => void sup.shutdown(),
    });
    let announced = false;
    void sup.ready.then(() => {
      if (announced) return;
      announced = true;
      const status = sup.status();
      process.stdout.write(
        `${JSON.stringify({
          ready: true,
          pid: process.pid,
          control: control.path,
          services: Object.fromEntries(status.services.map((s) => [s.name, s.state])),
        })}\n`,
      );
    });
    const stop = (signal: string): void => {
      log('info', `${signal}: stopping`);
      void sup.shutdown();
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    const code = await sup.done;
    await control.close();
    return code;
  } finally {
    cleanup();
    await drivers?.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      const usage =
        err instanceof UsageError ||
        (err instanceof SupervisorError && err.code === 'SUPERVISOR_INVALID_SPEC');
      const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
      log('error', err instanceof Error ? err.message : String(err));
      if (usage) log('error', USAGE);
      process.exit(usage || code.startsWith('BOARD_') || code.startsWith('ERR_PARSE_ARGS') ? 2 : 1);
    },
  );
}
