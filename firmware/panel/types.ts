/**
 * The front panel's vocabulary: its LEDs and buttons, the patterns an LED shows, and the view of the
 * appliance the pattern mapping (leds.ts) works from. Only types live here.
 */
import type { AlarmCode, LinkName, LinkStatus, Role } from '../cluster/types.ts';

/** One per LED of board.gpio.leds. */
export type LedName = 'power' | 'active' | 'standby' | 'fault' | 'serialLink' | 'ethLink';

export const LED_NAMES: readonly LedName[] = ['power', 'active', 'standby', 'fault', 'serialLink', 'ethLink'];

export type ButtonName = 'failover' | 'reset';

export const BUTTON_NAMES: readonly ButtonName[] = ['failover', 'reset'];

/** off; solid; blink at ~1 Hz (500 ms on, 500 ms off); fast-blink at ~4 Hz (125 ms on, 125 ms off). */
export type Pattern = 'off' | 'solid' | 'blink' | 'fast-blink';

export const PATTERNS: readonly Pattern[] = ['off', 'solid', 'blink', 'fast-blink'];

export type LedPatterns = Readonly<Record<LedName, Pattern>>;

/** What the panel needs of the cluster status (firmware/cluster/service.ts ClusterStatus). */
export interface ClusterView {
  readonly role: Role;
  readonly peerAlive: boolean;
  readonly links: readonly {
    readonly name: LinkName;
    readonly status: LinkStatus;
    readonly carrier: boolean;
  }[];
  /** The alarm counters since the cluster started. */
  readonly alarms: Readonly<Partial<Record<AlarmCode, number>>>;
}

export type ServiceState = 'starting' | 'running' | 'backoff' | 'failed' | 'stopped';

/** What the panel needs of the supervisor's status (appliance.md). */
export interface SupervisorView {
  readonly services: readonly {
    readonly name: string;
    readonly state: ServiceState;
    readonly critical: boolean;
  }[];
  /** Undefined when the supervisor does not say. */
  readonly watchdogFed: boolean | undefined;
}

/**
 * The appliance as the panel last saw it. `cluster` is 'starting' until the first answer (within the
 * panel's start-up grace) and 'unreachable' when the control socket has not answered for the stale time.
 */
export interface ApplianceView {
  readonly cluster: ClusterView | 'starting' | 'unreachable';
  /** Undefined when no supervisor answers (a panel run on its own). */
  readonly supervisor: SupervisorView | undefined;
  /** Alarms whose counter went up recently (the service decides how recent). */
  readonly recentAlarms: readonly AlarmCode[];
}

/**
 * What the panel itself shows over the appliance's state: 'confirm-reset' while the reset button's
 * confirmation plays, 'refused' for a while after a button's request failed.
 */
export type Overlay = 'none' | 'confirm-reset' | 'refused';
