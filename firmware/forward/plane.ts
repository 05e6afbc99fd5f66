/**
 * A data plane: what makes the kernel forward as a desired state says (nftables, or IPVS where the kernel
 * has it). The forwarding service owns one and feeds it validated desired states.
 */
import type { DesiredForwarding } from './model.ts';

/** lc/wlc re-weighting: weights by service name, then by server key (`serverKey`). */
export type WeightOverrides = ReadonlyMap<string, ReadonlyMap<string, number>>;

export interface ServerCounters {
  readonly address: string;
  /** The real server's port; undefined: the service port (or all ports). */
  readonly port: number | undefined;
  readonly packets: number;
  readonly bytes: number;
  /** New connections seen (TCP SYNs for DR, conntrack entries created for NAT). */
  readonly connections: number;
}

export interface ServiceCounters {
  readonly name: string;
  readonly packets: number;
  readonly bytes: number;
  readonly connections: number;
  readonly servers: readonly ServerCounters[];
}

export interface ForwardingCounters {
  readonly services: readonly ServiceCounters[];
}

export interface ApplyResult {
  /** True when the plane rebuilt its tables whole (first apply, or after an unknown outcome). */
  readonly full: boolean;
  readonly commands: number;
  /** Table entries written or removed. */
  readonly elements: number;
}

export interface DataPlane {
  /**
   * Makes the kernel match `desired`, atomically where the kernel allows it. Rejects
   * FORWARD_APPLY_FAILED when the kernel refuses, leaving the data plane as it was; FORWARD_CLOSED after
   * close(). Calls must not overlap (the forwarding service serialises them).
   */
  apply(
    desired: DesiredForwarding,
    options?: { signal?: AbortSignal; weights?: WeightOverrides },
  ): Promise<ApplyResult>;
  /** Counters of the services last applied. */
  counters(options?: { signal?: AbortSignal }): Promise<ForwardingCounters>;
  /** Stops using the kernel; the programmed tables stay (a restart picks them up by rebuilding). */
  close(): Promise<void>;
}
