/**
 * ICMP echo ("ping") over raw IP sockets: how health checks probe real servers and how the cluster asks
 * its ping node whether the uplink still works. A pinger owns one socket per address family and keeps
 * any number of echo requests in flight on it at once.
 */

export interface PingOptions {
  /** How long to wait for the reply, in ms: a finite number > 0 (at most 600000). */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Echo data bytes after the 8-byte ICMP header: an integer 0..65000, default 56 (as ping(8)). */
  payloadBytes?: number;
}

export interface PingReply {
  /** Round-trip time in ms, from the request leaving the socket to the reply arriving. */
  rttMs: number;
  /** The reply's IPv4 TTL. Absent for IPv6, whose raw sockets do not show the hop limit. */
  ttl?: number;
}

/** Why a received ICMP message was not taken as the answer to a ping. */
export type IgnoreReason =
  | 'truncated' // shorter than its headers say, or than an ICMP header
  | 'malformed' // not an IPv4/ICMP packet at all (bad version, header length, protocol)
  | 'bad-checksum'
  | 'not-echo-reply' // another ICMP type: echo requests, unreachables, ...
  | 'foreign' // an echo reply for another pinger (identifier differs)
  | 'unmatched' // our identifier, but no ping in flight with that sequence and source (late or spoofed)
  | 'payload-mismatch'; // the reply did not echo the data we sent

export interface PingerStats {
  /** The ICMP echo identifier this pinger puts in its requests. */
  identifier: number;
  sent: number;
  replies: number;
  timeouts: number;
  /** Pings ended by close() or an AbortSignal. */
  canceled: number;
  /** Pings whose request could not be sent (no route, ...). */
  sendErrors: number;
  /** Received messages not taken as replies, by reason. Counted, never thrown. */
  ignored: Record<IgnoreReason, number>;
}

export interface Pinger {
  /**
   * Sends one ICMP echo request to `address` (an IPv4 or IPv6 literal; no host names, no zone suffix, not
   * an unspecified, broadcast or multicast address) and resolves with the reply that carries this
   * request's identifier and sequence, comes from `address` and echoes its data.
   *
   * Rejects with a HalError:
   * - HAL_INVALID_ARGUMENT for a bad address or option (the message names it), before anything is sent;
   * - HAL_TIMEOUT when no matching reply arrives within `timeoutMs`;
   * - HAL_CANCELED when `signal` aborts (at once if already aborted) or close() is called meanwhile;
   * - HAL_CLOSED after close();
   * - HAL_PERMISSION when the OS refuses a raw socket (not root, no CAP_NET_RAW);
   * - HAL_BUSY when all 65536 sequence numbers of the family are in flight;
   * - HAL_IO when the request cannot be sent (no route to the address).
   *
   * Any number of pings may be in flight at once, to the same or different addresses.
   */
  ping(address: string, options: PingOptions): Promise<PingReply>;
  /** Counters since the pinger was made. */
  stats(): PingerStats;
  /** Rejects every ping in flight with HAL_CANCELED and releases the sockets. Calling it again does nothing. */
  close(): Promise<void>;
}
