/**
 * Reads the cluster's and the supervisor's status answers (JSON from their control sockets) into the
 * panel's views. Only the fields the panel uses are checked; anything else in the answer is ignored.
 */
import type { AlarmCode, LinkName, LinkStatus, Role } from '../cluster/types.ts';
import { PanelError } from './errors.ts';
import type { ClusterView, ServiceState, SupervisorView } from './types.ts';

const ROLES: readonly Role[] = ['OFF', 'INIT', 'STANDBY', 'ACTIVE', 'MAINTENANCE', 'FAULT', 'STOPPED'];
const LINK_NAMES: readonly LinkName[] = ['serial', 'eth'];
const LINK_STATES: readonly LinkStatus[] = ['unknown', 'up', 'warn', 'down'];
const SERVICE_STATES: readonly ServiceState[] = ['starting', 'running', 'backoff', 'failed', 'stopped'];

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(what: string, field: string, value: unknown): PanelError {
  const got = JSON.stringify(value) ?? String(value);
  return new PanelError(
    'PANEL_BAD_ANSWER',
    `${what} status: ${field} is not what the protocol promises, got ${got.length > 60 ? `${got.slice(0, 57)}...` : got}`,
  );
}

function oneOf<T extends string>(list: readonly T[], value: unknown, what: string, field: string): T {
  if (typeof value === 'string' && (list as readonly string[]).includes(value)) return value as T;
  throw bad(what, field, value);
}

/** The cluster's `{"op":"status"}` answer (its `ok` part). Throws PANEL_BAD_ANSWER naming the field. */
export function clusterView(status: unknown): ClusterView {
  if (!isObj(status)) throw bad('cluster', '(root)', status);
  const role = oneOf(ROLES, status.role, 'cluster', 'role');
  if (!Array.isArray(status.links)) throw bad('cluster', 'links', status.links);
  const links = status.links.map((l: unknown, i) => {
    if (!isObj(l)) throw bad('cluster', `links.${i}`, l);
    return {
      name: oneOf(LINK_NAMES, l.name, 'cluster', `links.${i}.name`),
      status: oneOf(LINK_STATES, l.status, 'cluster', `links.${i}.status`),
      carrier: l.carrier !== false,
    };
  });
  const alarms: Partial<Record<AlarmCode, number>> = {};
  if (isObj(status.alarms)) {
    for (const [code, count] of Object.entries(status.alarms)) {
      if (typeof count === 'number' && Number.isFinite(count)) alarms[code as AlarmCode] = count;
    }
  }
  return { role, peerAlive: status.peerAlive === true, links, alarms };
}

/** The supervisor's `{"op":"status"}` answer (its `ok` part). Throws PANEL_BAD_ANSWER naming the field. */
export function supervisorView(status: unknown): SupervisorView {
  if (!isObj(status)) throw bad('supervisor', '(root)', status);
  if (!Array.isArray(status.services)) throw bad('supervisor', 'services', status.services);
  const services = status.services.map((s: unknown, i) => {
    if (!isObj(s) || typeof s.name !== 'string') throw bad('supervisor', `services.${i}.name`, s);
    return {
      name: s.name,
      state: oneOf(SERVICE_STATES, s.state, 'supervisor', `services.${i}.state`),
      critical: s.critical === true,
    };
  });
  const fed = isObj(status.watchdog) ? status.watchdog.fed : undefined;
  return { services, watchdogFed: typeof fed === 'boolean' ? fed : undefined };
}

/** The alarms whose counter is higher in `now` than in `before` (a restarted cluster starts from 0). */
export function raisedAlarms(
  before: Readonly<Partial<Record<AlarmCode, number>>>,
  now: Readonly<Partial<Record<AlarmCode, number>>>,
): AlarmCode[] {
  return (Object.keys(now) as AlarmCode[]).filter((code) => (now[code] ?? 0) > (before[code] ?? 0));
}
