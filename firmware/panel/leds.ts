/**
 * What each LED shows, as a pure function of the appliance's view and the panel's own overlay.
 *
 *   LED       fast-blink (4 Hz)          blink (1 Hz)                         solid              off
 *   power     -                          starting (no status yet, role OFF    running            never
 *                                        or INIT) or leaving (STOPPED)
 *   active    -                          MAINTENANCE                          ACTIVE             otherwise
 *   standby   -                          INIT (looking for the peer)          STANDBY            otherwise
 *   fault     a critical service failed; degraded: a service restarting or    role FAULT, or the  healthy
 *             a button's request failed  failed (not critical), the watchdog   cluster does not
 *             (for 3 s)                  not fed, or a SERIOUS_ALARMS alarm    answer (stale)
 *                                        raised in the last 10 s
 *   serial/   -                          the link is late (warn)              the link is up      down, unknown,
 *   eth link                                                                                      not configured,
 *                                                                                                 or no status
 *
 * In each row the columns are checked left to right: the first that applies wins. (The 3 s and 10 s are
 * the service's defaults: it decides what is recent and when a refusal ends.) While the reset button's
 * confirmation plays (overlay 'confirm-reset'), every LED fast-blinks.
 */
import type { AlarmCode, LinkName } from '../cluster/types.ts';
import type { ApplianceView, ClusterView, LedName, LedPatterns, Overlay, Pattern } from './types.ts';

/** Alarms that say this box (not only the peer or a cable) is in trouble. */
export const SERIOUS_ALARMS: readonly AlarmCode[] = [
  'SPLIT_BRAIN',
  'ISOLATED',
  'FENCE_FAILED',
  'NODE_ID_CONFLICT',
  'HANDOVER_TIMEOUT',
  'HANDOVER_ABORTED',
];

export const ALL_OFF: LedPatterns = {
  power: 'off',
  active: 'off',
  standby: 'off',
  fault: 'off',
  serialLink: 'off',
  ethLink: 'off',
};

export function ledPatterns(view: ApplianceView, overlay: Overlay = 'none'): LedPatterns {
  if (overlay === 'confirm-reset') {
    return Object.fromEntries(Object.keys(ALL_OFF).map((k) => [k, 'fast-blink'])) as Record<LedName, Pattern>;
  }
  const cluster = typeof view.cluster === 'object' ? view.cluster : undefined;
  const role = cluster?.role;
  return {
    power:
      view.cluster === 'starting' || role === 'OFF' || role === 'INIT' || role === 'STOPPED'
        ? 'blink'
        : 'solid',
    active: role === 'ACTIVE' ? 'solid' : role === 'MAINTENANCE' ? 'blink' : 'off',
    standby: role === 'STANDBY' ? 'solid' : role === 'INIT' ? 'blink' : 'off',
    fault: fault(view, overlay),
    serialLink: link(cluster, 'serial'),
    ethLink: link(cluster, 'eth'),
  };
}

function fault(view: ApplianceView, overlay: Overlay): Pattern {
  const services = view.supervisor?.services ?? [];
  if (services.some((s) => s.critical && s.state === 'failed') || overlay === 'refused') return 'fast-blink';
  if (view.cluster === 'unreachable') return 'solid';
  if (typeof view.cluster === 'object' && view.cluster.role === 'FAULT') return 'solid';
  const degraded =
    services.some((s) => s.state === 'backoff' || s.state === 'failed') ||
    view.supervisor?.watchdogFed === false ||
    view.recentAlarms.some((a) => SERIOUS_ALARMS.includes(a));
  return degraded ? 'blink' : 'off';
}

function link(cluster: ClusterView | undefined, name: LinkName): Pattern {
  const l = cluster?.links.find((x) => x.name === name);
  if (l === undefined || !l.carrier) return 'off';
  return l.status === 'up' ? 'solid' : l.status === 'warn' ? 'blink' : 'off';
}
