import { readdirSync } from 'node:fs';
import { type DownResult, down } from '../../board/sim/testbed/down.ts';
import { type ExecResult, run } from '../../board/sim/testbed/exec.ts';
import { type HttpAnswer, httpGet } from '../../board/sim/testbed/http-probe.ts';
import { clearInterimRoutes, routeClientThrough } from '../../board/sim/testbed/interim-routes.ts';
import { TestNetns } from '../../board/sim/testbed/netns.ts';
import { type StatusReport, status } from '../../board/sim/testbed/status.ts';
import {
  type ApplianceName,
  type NodeName,
  nodeNamespace,
  type RealServer,
  STATE_ROOT,
  type Topology,
} from '../../board/sim/testbed/topology.ts';
import { type UpResult, up } from '../../board/sim/testbed/up.ts';

/**
 * The one way tests get a simulated cluster: `startTestbed()` builds a whole testbed under a prefix of
 * this test process (`tnd-t<pid>-<n>`, which the runner's orphan sweep recognises, so a killed test leaves
 * nothing behind) and returns handles to it. Call `down()` in `after`. Needs root, `ip` and `socat`:
 * gate the file with `canRun('...', { root: true, tools: ['ip', 'socat'] })`.
 */
export interface Testbed {
  readonly prefix: string;
  readonly topology: Topology;
  readonly addresses: Topology['addresses'];
  readonly realServers: readonly RealServer[];
  /** The pty symlinks of the serial cable: A's end and B's end. */
  readonly serial: { readonly a: string; readonly b: string };
  /** The namespace of a node (client, a, b, sw, rs1..N). */
  ns(node: NodeName): string;
  /** Runs argv in the node's namespace; rejects with CommandError on a non-zero exit unless allowFail. */
  exec(node: NodeName, argv: readonly string[], options?: Parameters<typeof run>[1]): Promise<ExecResult>;
  /** GET http://host:port/path from inside the node's namespace. */
  httpGet(node: NodeName, target: { host: string; port?: number; path?: string }): Promise<HttpAnswer>;
  /** Until a cluster owns the VIP: routes client <-> real servers through an appliance's own addresses. */
  routeClientThrough(via: ApplianceName): Promise<void>;
  clearInterimRoutes(): Promise<void>;
  /** `tandem sim up` again (idempotent: repairs what is broken). */
  up(): Promise<UpResult>;
  status(): Promise<StatusReport>;
  down(): Promise<DownResult>;
}

let started = 0;

/** Removes what killed test processes left: their namespaces and their testbeds' state dirs. */
async function sweepOrphans(): Promise<void> {
  await TestNetns.sweepOrphans();
  let dirs: string[] = [];
  try {
    dirs = readdirSync(STATE_ROOT);
  } catch {
    return;
  }
  for (const dir of dirs) {
    const m = /^tnd-t(\d+)-\d+$/.exec(dir);
    if (m && !isAlive(Number(m[1]))) await down({ prefix: dir });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function startTestbed(options: { realServers?: number } = {}): Promise<Testbed> {
  await sweepOrphans();
  started += 1;
  const prefix = `tnd-t${process.pid}-${started}`;
  let topology: Topology;
  try {
    topology = (await up({ prefix, realServers: options.realServers ?? 3 })).topology;
  } catch (err) {
    await down({ prefix });
    throw err;
  }
  const ns = (node: NodeName): string => nodeNamespace(topology, node);
  return {
    prefix,
    topology,
    addresses: topology.addresses,
    realServers: topology.realServers,
    serial: { a: topology.serial.a, b: topology.serial.b },
    ns,
    exec: (node, argv, opts) => run(['ip', 'netns', 'exec', ns(node), ...argv], opts),
    httpGet: (node, target) => httpGet(ns(node), { port: 80, ...target }),
    routeClientThrough: (via) => routeClientThrough(topology, via),
    clearInterimRoutes: () => clearInterimRoutes(topology),
    up: () => up({ prefix, realServers: topology.realServers.length }),
    status: () => status({ prefix, realServers: topology.realServers.length }),
    down: () => down({ prefix }),
  };
}
