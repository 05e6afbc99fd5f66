/**
 * The takeover service's vocabulary: which addresses float with the ACTIVE role (the VIPs on the client
 * link, the gateway on the server link), how they are announced, and the handle the cluster drives.
 * Only types live here; the reconciler is service.ts.
 */
import type { AnnounceForm } from '../../hal/net/types.ts';

/** One floating address: a CIDR on a link (`{ link: 'client0', cidr: '192.0.2.100/24' }`). */
export interface FloatingAddress {
  readonly link: string;
  readonly cidr: string;
}

export interface GarpConfig {
  /** Frames per form in one burst: 1..100. */
  readonly count: number;
  /** Milliseconds between frames of a burst. */
  readonly intervalMs: number;
  /** Which gratuitous-ARP forms each burst sends (both by default: some hosts heed only one). */
  readonly forms: readonly AnnounceForm[];
  /**
   * The bursts of one announcement start this far apart, in address order then form order, so the
   * first frame for the first (client-facing) address does not wait behind the others' tool start-ups.
   */
  readonly staggerMs: number;
}

export interface TakeoverConfig {
  /** In announcement order: the client-facing VIPs first. */
  readonly addresses: readonly FloatingAddress[];
  readonly garp: GarpConfig;
  /** Re-announce every address this often while held (0: never). Heals caches a burst missed. */
  readonly refreshMs: number;
  /** After a failed add or remove, how long before the reconciler tries again. */
  readonly retryMs: number;
  /**
   * Addresses this service adds carry the IPv4 label `<link>:<labelSuffix>` (when it fits in 15
   * bytes), so a restart finds what a crash left behind even after the configuration changed.
   */
  readonly labelSuffix: string;
}

export type TakeoverConfigInput = Partial<Omit<TakeoverConfig, 'garp' | 'addresses'>> & {
  addresses: readonly FloatingAddress[];
  garp?: Partial<GarpConfig>;
};

export interface AcquireTiming {
  /** The epoch the addresses were acquired for. */
  readonly epoch: number;
  /** Clock ms when acquire was called. */
  readonly startedAt: number;
  /** Clock ms when every address was up (undefined while not yet). */
  readonly upAt: number | undefined;
  /** Clock ms when the first announcement burst was started. */
  readonly announcedAt: number | undefined;
}

export interface TakeoverStatus {
  /** What the reconciler works towards. */
  readonly desired: 'held' | 'released';
  /** Floating addresses present on their links at the last reconcile (`link cidr`). */
  readonly present: readonly string[];
  /** The last reconcile matched the desired state. */
  readonly converged: boolean;
  readonly lastError: string | undefined;
  readonly bursts: { readonly started: number; readonly failed: number; readonly framesSent: number };
  readonly lastAcquire: AcquireTiming | undefined;
}

/** What the cluster service calls. Every method is idempotent and safe in any state. */
export interface Takeover {
  /**
   * Brings every floating address up (resolves once they are, or rejects with the error that stopped
   * it: the reconciler keeps retrying), then starts a gratuitous-ARP burst per address and form without
   * waiting for it.
   */
  acquire(epoch: number): Promise<void>;
  /** Stops bursts and refresh and removes the floating addresses (and any labelled leftovers). */
  release(): Promise<void>;
  /** A new burst for every held address (after a split brain healed); ignored while released. */
  announce(): void;
  /** Makes the links match the desired state now (at start: removes what a crash left). */
  reconcile(): Promise<void>;
  status(): TakeoverStatus;
  /** Stops timers and bursts; leaves the addresses as they are. Calling it again does nothing. */
  close(): Promise<void>;
}
