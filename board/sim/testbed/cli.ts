import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { HalError } from '../../../hal/errors.ts';
import {
  applianceFiles,
  powerOff,
  powerOn,
  startAppliance,
  stopAppliance,
  supervisorPid,
} from './appliance.ts';
import { attachConsole, consoleLinks, ensureConsole } from './console.ts';
import { down } from './down.ts';
import { TestbedError } from './errors.ts';
import { CommandError } from './exec.ts';
import { listNetns } from './netns.ts';
import { formatStatus, status } from './status.ts';
import { type ApplianceName, DEFAULT_PREFIX, DEFAULT_REAL_SERVERS, nodeNamespace } from './topology.ts';
import { resolveTopology, up } from './up.ts';

export const SIM_USAGE = `usage: tandem sim <command> [--prefix P]
  up [--real-servers N]     build the simulated cluster (idempotent; completes a half-built one)
  down                      remove everything the testbed made (also after a crash)
  status [--real-servers N] show what exists; exit 0 when whole, 1 otherwise
  exec <node> -- <cmd...>   run a command in a node's namespace (client, a, b, sw, rs1..rsN)
  start <a|b> [--provision F] [-- supervisor options...]
                            boot an appliance: its supervisor in its namespace (default provisioning:
                            <state>/provision-<node>.json, written from the topology when absent)
  stop <a|b>                graceful shutdown (the cluster hands over and releases its addresses)
  power-off <a|b>           power cut: every process of the node SIGKILLed at once, its links down
  power-on <a|b> [--provision F]   links up, then boot
  console <a|b>             attach this terminal to the appliance's serial console (Ctrl-] detaches)
--prefix P (or TANDEM_SIM_PREFIX) names every namespace P-<node>: default ${DEFAULT_PREFIX}.
--real-servers N: default the count 'up' was last given, else ${DEFAULT_REAL_SERVERS}.`;

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  readonly isRoot: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export type SimCommand =
  | { kind: 'up' | 'status'; prefix: string; realServers: number | undefined }
  | { kind: 'down'; prefix: string }
  | { kind: 'exec'; prefix: string; node: string; argv: string[] }
  | { kind: 'start' | 'power-on'; prefix: string; node: ApplianceName; provision?: string; args: string[] }
  | { kind: 'stop' | 'power-off' | 'console'; prefix: string; node: ApplianceName }
  | { kind: 'help' };

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses `tandem sim ...` arguments (after `sim`). Throws UsageError saying what is wrong. */
export function parseSimArgs(args: readonly string[], env: CliIo['env'] = {}): SimCommand {
  const dashes = args.indexOf('--');
  const before = dashes < 0 ? [...args] : args.slice(0, dashes);
  const after = dashes < 0 ? [] : args.slice(dashes + 1);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(before);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  const [command, ...rest] = positionals;
  const prefix = values.prefix ?? env.TANDEM_SIM_PREFIX ?? DEFAULT_PREFIX;
  let realServers: number | undefined;
  if (values['real-servers'] !== undefined) {
    realServers = Number(values['real-servers']);
    if (!/^\d+$/.test(values['real-servers'])) {
      throw new UsageError(`--real-servers "${values['real-servers']}" is not a whole number`);
    }
  }
  const noMore = (): void => {
    if (rest.length > 0 || dashes >= 0)
      throw new UsageError(`${command} takes no arguments: ${[...rest, ...after].join(' ')}`);
  };
  if (values.provision !== undefined && command !== 'start' && command !== 'power-on')
    throw new UsageError(`${command} takes no --provision`);
  const appliance = (): ApplianceName => {
    const [node, ...extra] = rest;
    if (node !== 'a' && node !== 'b')
      throw new UsageError(
        `${command} needs an appliance, a or b${node === undefined ? '' : `, not "${node}"`}`,
      );
    if (extra.length > 0) throw new UsageError(`${command} takes one appliance: ${extra.join(' ')}`);
    if (realServers !== undefined) throw new UsageError(`${command} takes no --real-servers`);
    return node;
  };
  switch (command) {
    case 'start':
    case 'power-on': {
      const node = appliance();
      return {
        kind: command,
        prefix,
        node,
        ...(values.provision === undefined ? {} : { provision: values.provision }),
        args: after,
      };
    }
    case 'stop':
    case 'power-off':
    case 'console': {
      const node = appliance();
      if (dashes >= 0) throw new UsageError(`${command} takes nothing after "--"`);
      return { kind: command, prefix, node };
    }
    case 'up':
    case 'status':
      noMore();
      return { kind: command, prefix, realServers };
    case 'down':
      noMore();
      if (realServers !== undefined)
        throw new UsageError('down takes no --real-servers: it removes every node');
      return { kind: 'down', prefix };
    case 'exec': {
      const [node, ...extra] = rest;
      if (node === undefined) throw new UsageError('exec needs a node: exec <node> -- <cmd...>');
      if (extra.length > 0 || dashes < 0)
        throw new UsageError('exec needs "--" before the command: exec <node> -- <cmd...>');
      if (after.length === 0) throw new UsageError('exec needs a command after "--"');
      if (realServers !== undefined) throw new UsageError('exec takes no --real-servers');
      return { kind: 'exec', prefix, node, argv: after };
    }
    case undefined:
      throw new UsageError('missing command');
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      prefix: { type: 'string' },
      'real-servers': { type: 'string' },
      provision: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
}

/** Runs argv in the node's namespace with the terminal passed through; resolves with its exit code. */
async function execInNode(prefix: string, node: string, argv: readonly string[]): Promise<number> {
  const topology = await resolveTopology({ prefix });
  const ns = nodeNamespace(topology, node);
  if (!(await listNetns()).includes(ns)) {
    throw new TestbedError(
      'TESTBED_NOT_FOUND',
      `testbed ${prefix} is not up: namespace ${ns} does not exist (run: tandem sim up)`,
    );
  }
  // The terminal's Ctrl-C reaches the child directly; we only wait for it.
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  try {
    return await new Promise<number>((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: 'inherit' });
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? signalNumber(signal) : 0)));
    });
  } finally {
    process.off('SIGINT', ignore);
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGTERM: 15,
  };
  return numbers[signal] ?? 0;
}

/** `tandem sim ...`: resolves with the exit code (0 ok, 1 failure or testbed not whole, 2 usage). */
export async function simCli(args: readonly string[], io: CliIo): Promise<number> {
  let command: SimCommand;
  try {
    command = parseSimArgs(args, io.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`tandem sim: ${err.message}`);
    io.err(SIM_USAGE);
    return 2;
  }
  if (command.kind === 'help') {
    io.out(SIM_USAGE);
    return 0;
  }
  if (!io.isRoot) {
    io.err('tandem sim: needs root (it creates network namespaces, veths and bridges); run it as root');
    return 1;
  }
  try {
    switch (command.kind) {
      case 'up':
        return await runUp(command.prefix, command.realServers, io);
      case 'down': {
        const result = await down({ prefix: command.prefix });
        io.out(
          result.namespaces.length === 0 && result.processes.length === 0
            ? `testbed ${command.prefix}: nothing to remove`
            : `testbed ${command.prefix}: removed ${result.namespaces.length} namespaces` +
                (result.processes.length > 0 ? `, killed ${result.processes.length} processes` : ''),
        );
        return 0;
      }
      case 'status': {
        const report = await status({
          prefix: command.prefix,
          ...(command.realServers === undefined ? {} : { realServers: command.realServers }),
        });
        for (const line of formatStatus(report)) io.out(line);
        const anyUp = report.checks.some((c) => c.area === 'namespace' && c.ok);
        for (const node of anyUp ? (['a', 'b'] as const) : []) {
          const pid = supervisorPid(report.topology, node);
          io.out(`  appliance ${node}: ${pid === undefined ? 'not running' : `supervisor pid ${pid}`}`);
        }
        return report.whole ? 0 : 1;
      }
      case 'exec':
        return await execInNode(command.prefix, command.node, command.argv);
      case 'start':
      case 'power-on':
      case 'stop':
      case 'power-off':
      case 'console':
        return await applianceCommand(command, io);
    }
  } catch (err) {
    if (err instanceof TestbedError || err instanceof CommandError || err instanceof HalError) {
      io.err(`tandem sim ${command.kind}: ${err.message}`);
      return err instanceof HalError && err.code === 'HAL_CANCELED' ? 130 : 1;
    }
    throw err;
  }
}

async function runUp(prefix: string, realServers: number | undefined, io: CliIo): Promise<number> {
  const controller = new AbortController();
  const interrupt = (): void => {
    io.err(
      `tandem sim up: interrupted; run "tandem sim up" to complete it or "tandem sim down" to remove it`,
    );
    controller.abort();
  };
  process.once('SIGINT', interrupt);
  try {
    const result = await up({
      prefix,
      ...(realServers === undefined ? {} : { realServers }),
      signal: controller.signal,
      onProgress: (line) => io.out(`  ${line}`),
    });
    const t = result.topology;
    io.out(
      result.changes.length === 0
        ? `testbed ${t.prefix}: already up, nothing changed`
        : `testbed ${t.prefix}: up (${t.nodes.length} namespaces, ${t.veths.length} links, ${t.realServers.length} real servers)`,
    );
    io.out(`  serial cable: ${t.serial.a} <-> ${t.serial.b}`);
    return 0;
  } catch (err) {
    // A Ctrl-C also reaches the ip commands in flight: whatever failed, the interruption is the story.
    if (controller.signal.aborted) return 130;
    throw err;
  } finally {
    process.off('SIGINT', interrupt);
  }
}

type ApplianceCommand = Extract<SimCommand, { node: ApplianceName }>;

async function applianceCommand(command: ApplianceCommand, io: CliIo): Promise<number> {
  const topology = await resolveTopology({ prefix: command.prefix });
  const node = command.node;
  switch (command.kind) {
    case 'start':
    case 'power-on': {
      const options = {
        ...(command.provision === undefined ? {} : { provision: command.provision }),
        args: command.args,
      };
      const started =
        command.kind === 'start'
          ? await startAppliance(topology, node, options)
          : await powerOn(topology, node, options);
      if (started === undefined) return 0;
      const services = JSON.stringify(started.ready.services ?? {});
      io.out(`appliance ${node}: up (supervisor pid ${started.pid}); services ${services}`);
      io.out(`  log: ${started.files.logFile}`);
      io.out(`  console: tandem sim console ${node} (or ${consoleLinks(topology, node).operator})`);
      return 0;
    }
    case 'stop': {
      const pid = await stopAppliance(topology, node);
      io.out(
        pid === undefined
          ? `appliance ${node}: not running`
          : `appliance ${node}: stopped (supervisor pid ${pid})`,
      );
      return 0;
    }
    case 'power-off': {
      const pids = await powerOff(topology, node);
      io.out(`appliance ${node}: power off (${pids.length} processes killed, links down)`);
      io.out(`  log: ${applianceFiles(topology, node).logFile}`);
      return 0;
    }
    case 'console': {
      await ensureConsole(topology, node);
      const how = await attachConsole(consoleLinks(topology, node).operator, {
        input: process.stdin,
        output: process.stdout,
        note: (line) => io.err(line),
      });
      io.err(`\r\n${how === 'detached' ? 'detached' : 'the console cable closed'}`);
      return 0;
    }
  }
}
