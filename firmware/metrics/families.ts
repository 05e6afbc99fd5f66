/**
 * A reading as Prometheus metric families. States are one-hot gauges (`…{state="up"} 1`, the other
 * known states 0), so a dashboard can sum or alert on any of them. A source that is down contributes
 * `tandem_source_up{source=…} 0` and none of its own series.
 */
import type { Snapshot } from './collector.ts';
import { FamilyBuilder, type Labels, type MetricFamily } from './exposition.ts';

export const CLUSTER_ROLES = ['OFF', 'INIT', 'STANDBY', 'ACTIVE', 'MAINTENANCE', 'FAULT', 'STOPPED'] as const;
export const LINK_STATES = ['unknown', 'up', 'warn', 'down'] as const;
export const HEALTH_STATES = ['up', 'down', 'unknown'] as const;
export const SUPERVISED_STATES = ['starting', 'running', 'backoff', 'failed', 'stopped'] as const;
export const JOURNAL_ROLES = ['leader', 'follower'] as const;

type Add = (labels: Labels, value: number) => void;

function oneHot(add: Add, labels: Labels, key: string, known: readonly string[], current: string): void {
  const all = known.includes(current) ? known : [...known, current];
  for (const v of all) add({ ...labels, [key]: v }, v === current ? 1 : 0);
}

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/-/g, '_');
const flag = (b: boolean): number => (b ? 1 : 0);

export function families(s: Snapshot): MetricFamily[] {
  const b = new FamilyBuilder();

  const up = b.gauge('tandem_source_up', 'Whether the last reading of a source succeeded (1) or not (0).');
  const took = b.gauge('tandem_source_duration_seconds', 'How long the last reading of a source took.');
  for (const [name, state] of Object.entries(s.sources)) {
    up({ source: name }, flag(state.up));
    took({ source: name }, state.ms / 1000);
  }

  const c = s.cluster;
  const role = b.gauge('tandem_cluster_role', "This node's cluster role (one-hot).");
  const epoch = b.gauge(
    'tandem_cluster_epoch',
    'The cluster epoch (fencing token) this node holds or knows.',
  );
  const health = b.gauge('tandem_cluster_health', "This node's health score, 0..100.");
  const peerAlive = b.gauge('tandem_cluster_peer_alive', 'Whether any heartbeat link hears the peer.');
  const peerRole = b.gauge('tandem_cluster_peer_role', "The peer's last announced role (one-hot).");
  const transitions = b.counter(
    'tandem_cluster_transitions_total',
    'Role transitions of this node by reason, since the metrics process started.',
  );
  const alarms = b.counter('tandem_cluster_alarms_total', 'Cluster alarms raised, by code.');
  const coreDrops = b.counter(
    'tandem_cluster_frames_dropped_total',
    'Authenticated heartbeat frames the cluster core dropped, by reason.',
  );
  const linkState = b.gauge('tandem_heartbeat_link_state', 'Heartbeat link state (one-hot).');
  const carrier = b.gauge('tandem_heartbeat_link_carrier', 'Whether the link has carrier.');
  const open = b.gauge('tandem_heartbeat_link_open', "Whether the link's medium is open.");
  const silent = b.gauge(
    'tandem_heartbeat_link_silent_seconds',
    'Time since the last accepted frame on the link (absent before the first).',
  );
  const sent = b.counter('tandem_heartbeat_frames_sent_total', 'Heartbeat frames handed to the medium.');
  const received = b.counter(
    'tandem_heartbeat_frames_received_total',
    'Authenticated heartbeat frames received.',
  );
  const bytesIn = b.counter('tandem_heartbeat_received_bytes_total', 'Bytes received on the link.');
  const linkDrops = b.counter(
    'tandem_heartbeat_link_drops_total',
    'Frames the link dropped or rejected, by reason (decode errors and send-side drops).',
  );
  const opens = b.counter('tandem_heartbeat_link_opens_total', "Times the link's medium was (re)opened.");
  const vips = b.gauge('tandem_takeover_addresses', 'Floating addresses present on their links.');
  const converged = b.gauge('tandem_takeover_converged', 'Whether the addresses match the desired state.');
  if (c !== undefined) {
    oneHot(role, {}, 'role', CLUSTER_ROLES, c.role);
    epoch({}, c.epoch);
    health({}, c.health);
    peerAlive({}, flag(c.peerAlive));
    if (c.peer !== undefined) oneHot(peerRole, {}, 'role', CLUSTER_ROLES, c.peer.role);
    for (const [reason, n] of Object.entries(s.transitions)) transitions({ reason }, n);
    for (const [code, n] of Object.entries(c.alarms)) alarms({ code }, n);
    for (const [reason, n] of Object.entries(c.drops)) coreDrops({ reason: snake(reason) }, n);
    if (c.reunionDropped !== undefined) coreDrops({ reason: 'reunion' }, c.reunionDropped);
    for (const l of c.links) {
      const link = { link: l.name };
      oneHot(linkState, link, 'state', LINK_STATES, l.status);
      carrier(link, flag(l.carrier));
      if (l.silentMs !== undefined) silent(link, l.silentMs / 1000);
      const sh = l.shell;
      if (sh === undefined) continue;
      open(link, flag(sh.open));
      sent(link, sh.counters.framesOut);
      received(link, sh.counters.framesIn);
      bytesIn(link, sh.counters.bytesIn);
      opens(link, sh.counters.opens);
      const byReason = new Map<string, number>();
      for (const [reason, n] of [
        ...Object.entries(sh.counters.decodeErrors),
        ...Object.entries(sh.counters.drops),
      ]) {
        byReason.set(snake(reason), (byReason.get(snake(reason)) ?? 0) + n);
      }
      for (const [reason, n] of byReason) linkDrops({ ...link, reason }, n);
    }
    if (c.takeover !== undefined) {
      vips({}, c.takeover.present.length);
      converged({}, flag(c.takeover.converged));
    }
  }

  const svcPackets = b.counter('tandem_service_packets_total', 'Packets counted for a virtual service.');
  const svcBytes = b.counter('tandem_service_bytes_total', 'Bytes counted for a virtual service.');
  const svcConns = b.counter('tandem_service_connections_total', 'New connections to a virtual service.');
  const srvPackets = b.counter('tandem_server_packets_total', 'Packets forwarded to/from a real server.');
  const srvBytes = b.counter('tandem_server_bytes_total', 'Bytes forwarded to/from a real server.');
  const srvConns = b.counter('tandem_server_connections_total', 'New connections sent to a real server.');
  for (const svc of s.traffic?.services ?? []) {
    const service = { service: svc.name, method: svc.method };
    svcPackets(service, svc.packets);
    svcBytes(service, svc.bytes);
    svcConns(service, svc.connections);
    for (const r of svc.servers) {
      const server = { service: svc.name, address: r.address, port: r.port };
      srvPackets(server, r.packets);
      srvBytes(server, r.bytes);
      srvConns(server, r.connections);
    }
  }

  const srvHealth = b.gauge(
    'tandem_server_health',
    "A real server's health as the monitor reports it (one-hot).",
  );
  const srvWeight = b.gauge(
    'tandem_server_weight',
    'The weight forwarding uses for a real server (0 while down).',
  );
  for (const r of s.journal?.servers ?? []) {
    const server = { service: r.service, server: r.server, address: r.address ?? '' };
    oneHot(srvHealth, server, 'state', HEALTH_STATES, r.state);
    if (r.weight !== undefined) srvWeight(server, r.weight);
  }

  const jRole = b.gauge('tandem_journal_role', "This node's journal replication role (one-hot).");
  const jEpoch = b.gauge('tandem_journal_epoch', 'The newest journal epoch seen.');
  const jHead = b.gauge('tandem_journal_head_seq', 'Sequence number of the newest journal entry.');
  const jFloor = b.gauge('tandem_journal_floor_seq', 'Oldest sequence number still in the log.');
  const jLag = b.gauge(
    'tandem_journal_replication_lag_entries',
    'Entries the follower has not acknowledged (leader with a follower attached).',
  );
  const jRecovering = b.gauge('tandem_journal_recovering', 'Whether the journal awaits a resync.');
  const jAttached = b.gauge('tandem_journal_peer_attached', 'Whether a replication peer is connected.');
  // The cluster host owns the journal: its status is live, the socket client's is refreshed periodically.
  const j = c?.journal ?? s.journal?.status;
  if (j !== undefined) {
    oneHot(jRole, {}, 'role', JOURNAL_ROLES, j.role);
    jEpoch({}, j.epoch);
    jHead({}, j.head);
    jFloor({}, j.floor);
    if (j.lag !== undefined && j.lag !== null) jLag({}, j.lag);
    jRecovering({}, flag(j.recovering));
    jAttached({}, flag(j.relation !== 'none'));
  }

  const supState = b.gauge('tandem_supervisor_service_state', "A supervised service's state (one-hot).");
  const supRestarts = b.counter(
    'tandem_supervisor_service_restarts_total',
    'Restarts of a supervised service.',
  );
  const supFed = b.gauge('tandem_supervisor_watchdog_fed', 'Whether the supervisor feeds the watchdog.');
  for (const svc of s.supervisor?.services ?? []) {
    oneHot(supState, { service: svc.name }, 'state', SUPERVISED_STATES, svc.state);
    supRestarts({ service: svc.name }, svc.restarts);
  }
  if (s.supervisor?.watchdog !== undefined) supFed({}, flag(s.supervisor.watchdog.fed));

  return b.families();
}
