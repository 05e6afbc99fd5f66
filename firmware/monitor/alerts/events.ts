/**
 * Alerts: what the monitor tells people about, built from the core's transition actions (never from
 * 'initial' records), with the fields a script gets in its environment and syslog in structured data.
 */
import type { MonitorAction } from '../core.ts';
import type { Severity } from './syslog.ts';

export type AlertName =
  | 'server-down'
  | 'server-up'
  | 'quorum-lost'
  | 'quorum-met'
  | 'sorry-on'
  | 'sorry-off'
  | 'health-score';

export interface AlertEvent {
  readonly name: AlertName;
  readonly severity: Severity;
  readonly message: string;
  /** Lower-case snake_case keys: `service`, `server`, `address`, `port`, `state`, `reason`, ... */
  readonly fields: Readonly<Record<string, string>>;
}

/** The alert an action calls for, if any. */
export function alertFor(action: MonitorAction): AlertEvent | undefined {
  switch (action.type) {
    case 'server': {
      const r = action.record;
      if (r.cause === 'initial') return undefined;
      const down = r.state === 'down';
      return {
        name: down ? 'server-down' : 'server-up',
        severity: down ? 'warning' : 'notice',
        message: down
          ? `real server ${r.server} (${r.address}:${r.port}) of ${r.service} is down, ${r.action === 'remove' ? 'removed' : 'weight 0'}: ${r.reason}`
          : `real server ${r.server} (${r.address}:${r.port}) of ${r.service} is up, weight ${r.weight}`,
        fields: {
          service: r.service,
          server: r.server,
          address: r.address,
          port: String(r.port),
          state: r.state,
          action: r.action,
          weight: String(r.weight),
          cause: r.cause,
          reason: r.reason,
        },
      };
    }
    case 'quorum': {
      const r = action.record;
      if (r.cause === 'initial') return undefined;
      return {
        name: r.met ? 'quorum-met' : 'quorum-lost',
        severity: r.met ? 'notice' : 'err',
        message: `service ${r.service} ${r.met ? 'has' : 'lost'} its quorum: live weight ${r.liveWeight}, quorum ${r.quorum} ± ${r.hysteresis}`,
        fields: {
          service: r.service,
          state: r.met ? 'met' : 'lost',
          live_weight: String(r.liveWeight),
          quorum: String(r.quorum),
          hysteresis: String(r.hysteresis),
        },
      };
    }
    case 'sorry': {
      const r = action.record;
      if (r.cause === 'initial') return undefined;
      return {
        name: r.active ? 'sorry-on' : 'sorry-off',
        severity: r.active ? 'warning' : 'notice',
        message: r.active
          ? `service ${r.service} has no real server up: sorry server ${r.address}:${r.port} takes the traffic`
          : `service ${r.service} has a real server up again: sorry server ${r.address}:${r.port} off`,
        fields: {
          service: r.service,
          state: r.active ? 'on' : 'off',
          address: r.address,
          port: String(r.port),
        },
      };
    }
    case 'score': {
      if (action.initial) return undefined;
      const r = action.record;
      const sick = r.components.filter((c) => !c.healthy);
      return {
        name: 'health-score',
        severity: r.score < 100 ? 'warning' : 'notice',
        message: `appliance health ${r.score}/100${sick.length ? `; unhealthy: ${sick.map((c) => `${c.name} (${c.detail})`).join(', ')}` : ''}`,
        fields: { score: String(r.score), unhealthy: sick.map((c) => c.name).join(',') },
      };
    }
    default:
      return undefined;
  }
}

/** The environment an alert script gets: TANDEM_EVENT, TANDEM_SEVERITY, TANDEM_MESSAGE, TANDEM_TIME and TANDEM_<FIELD>. */
export function alertEnvironment(alert: AlertEvent, wallTime: number): Record<string, string> {
  const env: Record<string, string> = {
    TANDEM_EVENT: alert.name,
    TANDEM_SEVERITY: alert.severity,
    TANDEM_MESSAGE: alert.message,
    TANDEM_TIME: new Date(wallTime).toISOString(),
  };
  for (const [k, v] of Object.entries(alert.fields)) env[`TANDEM_${k.toUpperCase()}`] = v;
  return env;
}
