/**
 * The console backend on a running appliance: the journal's backend (through the journal's access
 * socket) plus the live services. The cluster's control socket gives the role, the heartbeat links,
 * failover and maintenance; the forwarding tables' counters give the traffic; the supervisor reboots.
 *
 * The console asks for role, links and traffic synchronously (on every prompt and table), so a poller
 * keeps the last answers: every 500 ms for the cluster, every 2 s for the counters. A source that stops
 * answering is shown as such, never as its last good value: role `unknown`, no links, no traffic.
 */
import type { Clock, Timer } from '../../hal/clock/types.ts';
import type { PacketFilter } from '../../hal/packetfilter/types.ts';
import { controlRequest } from '../cluster/control.ts';
import type { ClusterStatus } from '../cluster/service.ts';
import type { Command } from '../cluster/types.ts';
import type { JournalView } from '../journal/api.ts';
import type { ClusterRole } from '../journal/types.ts';
import { nftTrafficSource } from '../metrics/traffic.ts';
import type { RuntimePaths } from '../runtime/paths.ts';
import type { ConsoleBackend, LinkView, TrafficCounters, TrafficView } from './backend.ts';
import { type JournalBackendOptions, journalBackend } from './journal-backend.ts';

export interface ApplianceBackendOptions extends JournalBackendOptions {
  paths: RuntimePaths;
  /** The peer's node name, for `show cluster` before the journal has recorded it. */
  peer?: string;
  clock: Clock;
  packetFilter: Pick<PacketFilter, 'counters'>;
}

export interface ApplianceBackend {
  readonly backend: ConsoleBackend;
  /** Stops the pollers. */
  close(): void;
}

const STALE_AFTER_MS = 2000;

type Answer = { ok?: unknown; error?: { code?: string; message?: string } };

async function ask(path: string, request: unknown, timeoutMs: number): Promise<unknown> {
  const answer = (await controlRequest(path, request, timeoutMs)) as Answer;
  if (answer.error !== undefined) throw new Error(answer.error.message ?? answer.error.code ?? 'refused');
  return answer.ok;
}

/** The journal's vocabulary for a role: only ACTIVE and STANDBY carry traffic or stand by for it. */
function factRole(role: string): ClusterRole {
  return role === 'ACTIVE' ? 'active' : role === 'STANDBY' ? 'standby' : 'offline';
}

function linkViews(status: ClusterStatus): LinkView[] {
  return status.links.map((l) => ({
    name: l.name,
    status: l.carrier ? l.status : `${l.status} (no carrier)`,
    silentMs: l.silentMs,
    detail: l.shell
      ? `${l.shell.medium}; in ${l.shell.counters.framesIn}, out ${l.shell.counters.framesOut}${l.shell.lastError ? `; ${l.shell.lastError}` : ''}`
      : '',
  }));
}

/** The counters by service name and by `service/server`, naming servers as the running configuration does. */
function trafficView(
  journal: Pick<JournalView, 'config'>,
  read: Awaited<ReturnType<ReturnType<typeof nftTrafficSource>>>,
): TrafficView {
  const services = new Map<string, TrafficCounters>();
  const servers = new Map<string, TrafficCounters>();
  const doc = journal.config.running()?.doc as
    | { services?: { name: string; servers?: { name: string; address: string }[] }[] }
    | undefined;
  for (const s of read.services) {
    services.set(s.name, { connections: s.connections, packets: s.packets, bytes: s.bytes });
    const configured = doc?.services?.find((c) => c.name === s.name)?.servers ?? [];
    for (const r of s.servers) {
      const name = configured.find((c) => c.address === r.address)?.name ?? r.address;
      servers.set(`${s.name}/${name}`, { connections: r.connections, packets: r.packets, bytes: r.bytes });
    }
  }
  return { services, servers };
}

export function applianceBackend(journal: JournalView, options: ApplianceBackendOptions): ApplianceBackend {
  const { paths, clock } = options;
  const base = journalBackend(journal, options);
  const readTraffic = nftTrafficSource(options.packetFilter);
  let cluster: { status: ClusterStatus; at: number } | undefined;
  let traffic: { view: TrafficView; at: number } | undefined;
  let closed = false;
  const timers = new Map<string, Timer>();

  const every = (name: string, ms: number, poll: () => Promise<void>): void => {
    const loop = async (): Promise<void> => {
      await poll().catch(() => {});
      if (!closed)
        timers.set(
          name,
          clock.setTimer(ms, () => void loop()),
        );
    };
    void loop();
  };
  every('cluster', 500, async () => {
    cluster = {
      status: (await ask(paths.clusterSocket, { op: 'status' }, 400)) as ClusterStatus,
      at: clock.now(),
    };
  });
  every('traffic', 2000, async () => {
    traffic = { view: trafficView(journal, await readTraffic({})), at: clock.now() };
  });
  const fresh = <T extends { at: number }>(v: T | undefined): T | undefined =>
    v !== undefined && clock.now() - v.at < STALE_AFTER_MS ? v : undefined;

  /** Gives the cluster `c` and waits (up to 3 s) for the role it leads to; says where the node ended. */
  const command = async (
    c: Command,
    settled: (role: string) => boolean,
    signal: AbortSignal,
  ): Promise<string> => {
    let role = String(
      ((await ask(paths.clusterSocket, { op: 'command', command: c }, 5000)) as { role?: string })?.role,
    );
    const end = clock.now() + 3000;
    while (!settled(role) && clock.now() < end && !signal.aborted) {
      await clock.sleep(100, { signal }).catch(() => {});
      role = ((await ask(paths.clusterSocket, { op: 'status' }, 1000)) as ClusterStatus).role;
    }
    return settled(role)
      ? `this node is now ${role.toLowerCase()}`
      : `the cluster took the command; this node is still ${role.toLowerCase()}`;
  };

  const backend: ConsoleBackend = {
    ...base,
    role: () => fresh(cluster)?.status.role.toLowerCase() ?? 'unknown',
    clusterFacts: () => {
      // The journal records each node's role only while it leads; the live roles come from the cluster.
      const facts = base.clusterFacts();
      const live = fresh(cluster)?.status;
      if (live === undefined) return facts;
      const peerRole = live.peerAlive && live.peer ? factRole(live.peer.role) : 'offline';
      const known = [...Object.keys(facts.roles), ...Object.keys(facts.peers)].filter(
        (n) => n !== journal.node,
      );
      const peers = known.length > 0 ? known : [options.peer ?? 'peer'];
      const roles = { ...facts.roles, [journal.node]: factRole(live.role) };
      for (const node of peers) roles[node] = peerRole;
      return { ...facts, roles };
    },
    links: () => {
      const c = fresh(cluster);
      if (c === undefined) throw new Error('the cluster service does not answer');
      return linkViews(c.status);
    },
    traffic: () => {
      const t = fresh(traffic);
      if (t === undefined) throw new Error('the forwarding counters could not be read');
      return t.view;
    },
    failover: ({ signal }) => command('failover', (r) => r !== 'ACTIVE', signal),
    maintenance: (on, { signal }) =>
      command(on ? 'maintenance-on' : 'maintenance-off', (r) => (r === 'MAINTENANCE') === on, signal),
    reboot: async () => {
      await ask(paths.supervisorSocket, { op: 'reboot' }, 5000);
      return 'rebooting: the services stop in order (the peer takes over) and start again';
    },
  };
  return {
    backend,
    close: () => {
      closed = true;
      for (const t of timers.values()) t.cancel();
    },
  };
}
