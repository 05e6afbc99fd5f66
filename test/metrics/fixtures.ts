/**
 * Fixtures for the metrics tests: status answers shaped like the cluster's and the supervisor's, and
 * small Unix-socket servers that answer, fail, stay silent or talk nonsense.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ControlServer, startControl } from '../../firmware/cluster/control.ts';
import type { ServerHealth } from '../../firmware/journal/health.ts';

export interface ClusterFixture {
  role?: string;
  epoch?: number;
  boot?: number;
  peerRole?: string;
  framesOut?: number;
  framesIn?: number;
  transitions?: { at: number; from: string; to: string; reason: string }[];
  lag?: number;
}

export function clusterStatus(f: ClusterFixture = {}): Record<string, unknown> {
  const counters = (out: number, inn: number) => ({
    framesIn: inn,
    framesOut: out,
    bytesIn: inn * 64,
    decodeErrors: {
      garbage: 1,
      'bad-length': 0,
      'bad-version': 0,
      'bad-crc': 2,
      'bad-mac': 0,
      'bad-payload': 0,
    },
    drops: { superseded: 0, notOpen: 3, sendFailed: 0, foreign: 0 },
    opens: 1,
  });
  return {
    nodeId: 1,
    role: f.role ?? 'ACTIVE',
    epoch: f.epoch ?? 7,
    boot: f.boot ?? 3,
    health: 100,
    peer: {
      nodeId: 2,
      boot: 5,
      seq: 900,
      epoch: f.epoch ?? 7,
      role: f.peerRole ?? 'STANDBY',
      priority: 100,
      health: 90,
      flags: { yield: false, leaving: false, wantActive: false },
      heardAt: 1234,
    },
    peerAlive: true,
    links: [
      {
        name: 'serial',
        status: 'up',
        carrier: true,
        silentMs: 12,
        shell: {
          name: 'serial',
          open: true,
          medium: '/dev/ttyS1',
          counters: counters(f.framesOut ?? 100, f.framesIn ?? 98),
        },
      },
      {
        name: 'eth',
        status: 'warn',
        carrier: true,
        silentMs: 60,
        shell: { name: 'eth', open: true, medium: '10.9.0.1 -> 10.9.0.2:694', counters: counters(100, 50) },
      },
    ],
    drops: { replayed: 4, stale: 0, ownId: 0, lateResults: 1 },
    reunionDropped: 0,
    alarms: { LINK_WARN: 2 },
    transitions: f.transitions ?? [
      { at: 10, from: 'OFF', to: 'INIT', reason: 'start' },
      { at: 500, from: 'INIT', to: 'ACTIVE', reason: 'election' },
    ],
    timer: { ticks: 10, maxMs: 1, over5: 0, over10: 0, over20: 0 },
    takeover: {
      desired: 'held',
      present: ['client0 192.0.2.100/24'],
      converged: true,
      lastError: undefined,
      bursts: { started: 1, failed: 0, framesSent: 3 },
    },
    config: { nodeId: 1 },
    journal: {
      node: 'a',
      role: 'leader',
      epoch: f.epoch ?? 7,
      head: 420,
      floor: 1,
      recovering: false,
      relation: 'source',
      lag: f.lag ?? 2,
      counters: {},
    },
    heartbeatPid: 4242,
  };
}

export function supervisorStatus(states: Record<string, string> = {}): Record<string, unknown> {
  const names = ['cluster', 'forward', 'monitor', 'console', 'metrics', 'panel'];
  return {
    services: names.map((name, i) => ({
      name,
      state: states[name] ?? 'running',
      pid: 1000 + i,
      restarts: name === 'monitor' ? 2 : 0,
      lastExit: null,
      critical: i < 3,
    })),
    watchdog: { fed: true, kicks: 12 },
  };
}

export function healthRows(): ServerHealth[] {
  const row = (server: string, state: 'up' | 'down', address: string, weight: number): ServerHealth => ({
    server,
    state,
    detail: state === 'up' ? 'HTTP 200' : 'connect refused',
    since: 0,
    seq: 1,
    data: {
      service: server.split('/')[0] ?? '',
      server: server.split('/')[1] ?? '',
      address,
      port: 80,
      action: 'restore',
      weight,
      cause: 'transition',
    },
  });
  return [
    row('web/rs1', 'up', '198.51.100.11', 10),
    row('web/rs2', 'up', '198.51.100.12', 10),
    row('web/rs3', 'down', '198.51.100.13', 0),
    { server: '@quorum/web', state: 'up', detail: 'ok', since: 0, seq: 2, data: null },
  ];
}

/** A temporary directory for sockets, removed by `cleanup()`. */
export function socketDir(): { path: (name: string) => string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tnd-metrics-'));
  return { path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A control socket (the cluster's own server) whose status is whatever `status()` returns now. */
export function answeringSocket(path: string, status: () => unknown): Promise<ControlServer> {
  return startControl(path, {
    status,
    command: () => {
      throw new Error('read-only fixture');
    },
  });
}

export interface RawSocketServer {
  close(): Promise<void>;
}

/** A Unix socket that does `behave` with every connection (stay silent, answer garbage, hang up). */
export function rawSocket(path: string, behave: (socket: Socket) => void): Promise<RawSocketServer> {
  rmSync(path, { force: true });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    behave(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () =>
      resolve({
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}
