/**
 * Shared pieces of the panel tests: cluster and supervisor status answers, an in-memory ApplianceLink,
 * fake cluster and supervisor control sockets, a sim board whose state lives in a temp directory, and
 * waiting on real events with a bound.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simBoard } from '../../board/sim.ts';
import type { Board } from '../../board/types.ts';
import { type ControlServer, startControl } from '../../firmware/cluster/control.ts';
import type { AlarmCode, Command, LinkStatus, Role } from '../../firmware/cluster/types.ts';
import type { ApplianceLink } from '../../firmware/panel/appliance.ts';
import { PanelError } from '../../firmware/panel/errors.ts';
import { type JsonLinesServer, serveJsonLines } from '../../firmware/runtime/jsonl-server.ts';

export interface StatusShape {
  role: Role;
  peerAlive: boolean;
  links: { name: 'serial' | 'eth'; status: LinkStatus; carrier: boolean }[];
  alarms: Partial<Record<AlarmCode, number>>;
}

export function status(role: Role, serial: LinkStatus = 'up', eth: LinkStatus = 'up'): StatusShape {
  return {
    role,
    peerAlive: serial === 'up' || eth === 'up',
    links: [
      { name: 'serial', status: serial, carrier: true },
      { name: 'eth', status: eth, carrier: true },
    ],
    alarms: {},
  };
}

export interface SupervisorShape {
  services: { name: string; state: string; critical: boolean; pid: number | null; restarts: number }[];
  watchdog: { fed: boolean };
}

export function supervisorStatus(...failed: [string, string, boolean][]): SupervisorShape {
  const base: [string, string, boolean][] = [
    ['cluster', 'running', true],
    ['forward', 'running', true],
    ['panel', 'running', false],
  ];
  const services = base.map(([name, state, critical]) => {
    const over = failed.find(([n]) => n === name);
    return { name, state: over?.[1] ?? state, critical: over?.[2] ?? critical, pid: 1, restarts: 0 };
  });
  return { services, watchdog: { fed: true } };
}

/** An in-memory appliance: set `cluster`/`supervisor` to undefined to make them unreachable. */
export class FakeAppliance implements ApplianceLink {
  cluster: StatusShape | undefined = status('ACTIVE');
  supervisor: SupervisorShape | undefined;
  refuse = false;
  readonly calls: string[] = [];

  clusterStatus = async (): Promise<unknown> => {
    if (this.cluster === undefined) throw new PanelError('PANEL_UNREACHABLE', 'the cluster is down');
    return structuredClone(this.cluster);
  };

  supervisorStatus = async (): Promise<unknown> => {
    if (this.supervisor === undefined) throw new PanelError('PANEL_UNREACHABLE', 'no supervisor');
    return structuredClone(this.supervisor);
  };

  failover = async (): Promise<unknown> => this.command('failover');

  factoryReset = async (): Promise<unknown> => this.command('factory-reset');

  private command(what: string): unknown {
    this.calls.push(what);
    if (this.refuse) throw new PanelError('PANEL_REFUSED', `${what}: refused by the test`);
    return { ok: true };
  }
}

/** A cluster control socket (the real server of control.ts) over a settable status. */
export async function fakeCluster(path: string, initial: StatusShape) {
  const state = { status: initial, commands: [] as Command[] };
  const server: ControlServer = await startControl(path, {
    status: () => state.status,
    command: (command) => {
      state.commands.push(command);
      return state.status.role;
    },
  });
  return { state, server };
}

/** A supervisor control socket as appliance.md describes it. */
export async function fakeSupervisor(path: string, initial: SupervisorShape) {
  const state = { status: initial, requests: [] as unknown[] };
  const server: JsonLinesServer = await serveJsonLines(path, 'PANEL', (req) => {
    state.requests.push(req);
    const op = (req as { op?: unknown }).op;
    if (op === 'status') return state.status;
    if (op === 'factory-reset') return { resetting: true };
    throw Object.assign(new Error(`unknown op ${String(op)}`), { code: 'SUPERVISOR_BAD_REQUEST' });
  });
  return { state, server };
}

/** A sim board (pin map of the 1U, simulated GPIO) with no namespace and its state in `dir`. */
export function tempBoard(dir: string): Board {
  const b = simBoard({ prefix: 'tndpanel', node: 'a' });
  return {
    ...b,
    netns: null,
    storage: {
      journalPath: join(dir, 'journal.db'),
      contentCache: join(dir, 'cache'),
      contentMount: join(dir, 'content'),
    },
    watchdog: { ...b.watchdog, device: join(dir, 'watchdog') },
    bootSlots: { ...b.bootSlots, envPath: join(dir, 'grubenv'), cmdlinePath: join(dir, 'cmdline') },
    serial: {
      heartbeat: { ...b.serial.heartbeat, path: join(dir, 'serial') },
      console: { ...b.serial.console, path: join(dir, 'console') },
    },
  };
}

export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tnd-panel-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeBoard(dir: string): { board: Board; path: string } {
  const board = tempBoard(dir);
  const path = join(dir, 'board.json');
  writeFileSync(path, JSON.stringify(board));
  return { board, path };
}

/** Resolves once `check` returns a value other than undefined; rejects after `timeoutMs` naming `what`. */
export async function until<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline) {
      throw new Error(
        `${what}: not within ${timeoutMs} ms${last === undefined ? '' : ` (last error: ${String(last)})`}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
