/**
 * The kernel's connection tracking table, read-only: the flows it tracks now, as `conntrack -L` shows
 * them. The forwarding core counts established NAT flows per real server from it (lc/wlc re-weighting).
 */

export type TrackedProtocol = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6' | 'dccp' | 'udplite' | 'gre';

/** TCP states as conntrack names them. */
export type TcpState =
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'ESTABLISHED'
  | 'FIN_WAIT'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'TIME_WAIT'
  | 'CLOSE'
  | 'SYN_SENT2';

export interface FlowTuple {
  /** Canonical text (IPv6 in RFC 5952 form). */
  readonly src: string;
  readonly dst: string;
  /** 0 for protocols without ports. */
  readonly sport: number;
  readonly dport: number;
}

export interface TrackedFlow {
  readonly protocol: TrackedProtocol;
  /** TCP (and SCTP, DCCP) only. */
  readonly state: string | undefined;
  /** As the first packet saw it. */
  readonly original: FlowTuple;
  /** As the answers carry it: after NAT, `reply.src` is the real server. */
  readonly reply: FlowTuple;
  /** The connection mark (0 when unset). */
  readonly mark: number;
}

export interface ListOptions {
  /** Only flows of this protocol. */
  protocol?: 'tcp' | 'udp' | 'sctp';
  /** Only TCP flows in this state (implies protocol tcp). */
  state?: TcpState;
  signal?: AbortSignal;
}

export interface ConnectionTracker {
  /**
   * The flows tracked now, filtered by `options`. HAL_INVALID_ARGUMENT for an unknown protocol or state
   * (naming it), HAL_UNSUPPORTED when the conntrack tool is missing, HAL_NOT_FOUND when the network
   * namespace is, HAL_PERMISSION without CAP_NET_ADMIN, HAL_TIMEOUT, HAL_CANCELED when `signal` aborts,
   * HAL_CLOSED after close().
   */
  list(options?: ListOptions): Promise<TrackedFlow[]>;
  /** Stops calls in flight (HAL_CANCELED); later calls get HAL_CLOSED. Calling it again does nothing. */
  close(): Promise<void>;
}
