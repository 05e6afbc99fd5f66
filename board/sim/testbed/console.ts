/**
 * Each simulated appliance's serial console cable: a socat pty pair in the switch namespace. The board's
 * console port is `<state>/console-<node>` (board/sim.ts), and an operator, the demo or a test attaches
 * to the other end, `<state>/console-<node>-operator`. `attachConsole` is `tandem sim console <node>`:
 * the terminal in raw mode, Ctrl-] to detach.
 */
import { closeSync, constants, existsSync, openSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReadStream, WriteStream } from 'node:tty';
import { TestbedError } from './errors.ts';
import { inNamespace, isRunning, killAndWait, type OwnProcess, ownProcesses } from './processes.ts';
import { startPtyPair } from './socat.ts';
import type { ApplianceName, Topology } from './topology.ts';

export interface ConsoleLinks {
  /** The appliance's end (its board's console port). */
  readonly port: string;
  /** The operator's end. */
  readonly operator: string;
  readonly pidFile: string;
}

export function consoleLinks(topology: Topology, node: ApplianceName): ConsoleLinks {
  const port = join(topology.stateDir, `console-${node}`);
  return { port, operator: `${port}-operator`, pidFile: join(topology.stateDir, `console-${node}.pid`) };
}

const ptyBehind = (link: string): boolean => {
  try {
    const device = realpathSync(link);
    return device.startsWith('/dev/pts/') && existsSync(device);
  } catch {
    return false;
  }
};

/** Makes node's console cable whole (keeps a healthy one); returns what it changed. */
export async function ensureConsole(
  topology: Topology,
  node: ApplianceName,
  processes: readonly OwnProcess[] = ownProcesses(topology.prefix, topology.stateDir),
): Promise<string[]> {
  const links = consoleLinks(topology, node);
  const mine = processes.filter((p) => p.role === 'console' && p.node === node).map((p) => p.pid);
  const healthy =
    mine.length === 1 &&
    isRunning(mine[0] as number) &&
    inNamespace(mine[0] as number, topology.serial.ns) &&
    ptyBehind(links.port) &&
    ptyBehind(links.operator);
  if (healthy) return [];
  await killAndWait(mine);
  try {
    const pair = await startPtyPair({
      dir: topology.stateDir,
      nameA: `console-${node}`,
      nameB: `console-${node}-operator`,
      netns: topology.serial.ns,
      detached: true,
    });
    writeFileSync(links.pidFile, `${pair.pid}\n`);
    return [`console cable of ${node}: ${links.port} <-> ${links.operator} (socat ${pair.pid})`];
  } catch (err) {
    throw new TestbedError('TESTBED_START_FAILED', `console cable of ${node} did not start: ${String(err)}`, {
      cause: err,
    });
  }
}

/** Removes node's console cable. */
export async function removeConsole(topology: Topology, node: ApplianceName): Promise<void> {
  const links = consoleLinks(topology, node);
  const mine = ownProcesses(topology.prefix, topology.stateDir).filter(
    (p) => p.role === 'console' && p.node === node,
  );
  await killAndWait(mine.map((p) => p.pid));
  for (const f of [links.port, links.operator, links.pidFile]) rmSync(f, { force: true });
}

export const DETACH_KEY = 0x1d; // Ctrl-]

/**
 * Connects a terminal to the operator end of a console cable until Ctrl-] (or the cable goes away).
 * The terminal is put in raw mode when it is one, and restored on the way out.
 */
export async function attachConsole(
  operatorLink: string,
  io: { input: NodeJS.ReadStream; output: NodeJS.WritableStream; note?: (line: string) => void } = {
    input: process.stdin,
    output: process.stdout,
  },
): Promise<'detached' | 'closed'> {
  if (!ptyBehind(operatorLink)) {
    throw new TestbedError(
      'TESTBED_NOT_FOUND',
      `no console cable at ${operatorLink} (run: tandem sim start <node>)`,
    );
  }
  const fd = openSync(operatorLink, constants.O_RDWR | constants.O_NOCTTY);
  const fromPort = new ReadStream(fd);
  fromPort.setRawMode(true);
  const toPort = new WriteStream(fd);
  const wasRaw = io.input.isTTY ? io.input.isRaw : false;
  if (io.input.isTTY) io.input.setRawMode(true);
  io.note?.(`attached to ${operatorLink}; Ctrl-] detaches`);
  let finish: (how: 'detached' | 'closed') => void = () => {};
  const onInput = (chunk: Buffer): void => {
    const at = chunk.indexOf(DETACH_KEY);
    if (at < 0) {
      toPort.write(chunk);
      return;
    }
    if (at > 0) toPort.write(chunk.subarray(0, at));
    finish('detached');
  };
  const onEnd = (): void => finish('detached');
  try {
    return await new Promise<'detached' | 'closed'>((resolve) => {
      finish = resolve;
      io.input.on('data', onInput);
      io.input.once('end', onEnd);
      io.input.resume();
      fromPort.on('data', (chunk: Buffer) => io.output.write(chunk));
      fromPort.once('error', () => resolve('closed'));
      fromPort.once('end', () => resolve('closed'));
    });
  } finally {
    if (io.input.isTTY) io.input.setRawMode(wasRaw);
    io.input.off('data', onInput);
    io.input.off('end', onEnd);
    io.input.pause();
    fromPort.destroy();
    toPort.destroy();
    try {
      closeSync(fd);
    } catch {
      // the streams closed it
    }
  }
}
