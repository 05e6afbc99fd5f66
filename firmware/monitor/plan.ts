/** The configuration as the core uses it: validated, defaults filled in, each check bound to its kind. */
import type { CheckKind } from './checks/types.ts';

export interface CheckPolicy {
  /** From the start of one probe to the start of the next, in ms (at least 100). */
  readonly intervalMs: number;
  /** A probe still running this long after it started is aborted and counts as a failure. */
  readonly timeoutMs: number;
  /** Consecutive successes that bring a down check up. */
  readonly rise: number;
  /** Consecutive failures that take an up check down. */
  readonly fall: number;
  /** The first probe starts at a random offset in [0, jitterMs) after the check appears. */
  readonly jitterMs: number;
  /** After a failure of an up check, probe again this soon instead of after a whole interval. */
  readonly retryMs: number | undefined;
}

export interface CheckPlan {
  readonly kind: CheckKind;
  readonly spec: unknown;
  readonly policy: CheckPolicy;
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface ServerPlan {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  /** The service's checks followed by the server's own; the server is up while all of them are. */
  readonly checks: readonly CheckPlan[];
}

export interface ServicePlan {
  readonly name: string;
  /** What a down server becomes: weight 0 (existing connections drain) or removed. */
  readonly onFall: 'quiesce' | 'remove';
  /** Minimum live weight; 0 means no quorum is kept. */
  readonly quorum: number;
  readonly quorumHysteresis: number;
  /** Servers begin down and need `rise` good probes (keepalived's alpha mode). */
  readonly startDown: boolean;
  readonly sorryServer: Endpoint | undefined;
  readonly servers: readonly ServerPlan[];
}

export interface LinkComponentPlan {
  readonly name: string;
  readonly role: 'client' | 'server' | 'heartbeat';
  /** The interface name (client0, server0, hb0). */
  readonly link: string;
  readonly weight: number;
}

export interface CheckComponentPlan {
  readonly name: string;
  readonly kind: 'gateway' | 'service';
  readonly weight: number;
  readonly address: string;
  readonly port: number;
  readonly check: CheckPlan;
}

export interface SelfPlan {
  readonly links: readonly LinkComponentPlan[];
  readonly checks: readonly CheckComponentPlan[];
}

export interface AlertPlan {
  readonly script:
    | {
        readonly path: string;
        readonly args: readonly string[];
        readonly timeoutMs: number;
        readonly killGraceMs: number;
      }
    | undefined;
  readonly syslog:
    | {
        readonly host: string;
        readonly port: number;
        readonly facility: number;
        readonly appName: string;
        readonly hostname: string | undefined;
      }
    | undefined;
}

export interface MonitorPlan {
  readonly services: readonly ServicePlan[];
  readonly self: SelfPlan;
  /** Probes running at once (sockets, pings, file checks); more wait in a queue. */
  readonly maxConcurrent: number;
  /** Probes that run a program (script checks) at once; more wait in their own queue. */
  readonly maxConcurrentScripts: number;
  readonly alerts: AlertPlan;
}
