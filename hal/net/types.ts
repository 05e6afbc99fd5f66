/**
 * The network-links contract: links and their carrier, addresses (the VIPs), gratuitous ARP, neighbours
 * and routes of one host (or one network namespace). `linux.ts` (iproute2 and arping) and `sim.ts` (a
 * simulated L2 world on a Clock) both meet every guarantee written here; test/hal/net/contract.ts checks
 * them against both.
 *
 * Names and values are what iproute2 shows: link names are kernel names (1 to 15 bytes, no '/', ':' or
 * white space), addresses are canonical text (dotted quad, RFC 5952 IPv6), MACs are lower-case
 * `aa:bb:cc:dd:ee:ff`. Errors are HalErrors (hal/errors.ts) with the code stated on each call; every
 * call made after `close()` rejects with HAL_CLOSED. A syntactically bad link name is HAL_INVALID_ARGUMENT,
 * a well-formed name that no link has is HAL_NOT_FOUND; both messages name it.
 */

export type Family = 'inet' | 'inet6';

/** RFC 2863 operational state, as the kernel reports it (lower case). */
export type OperState = 'up' | 'down' | 'lowerlayerdown' | 'dormant' | 'testing' | 'notpresent' | 'unknown';

export interface LinkInfo {
  readonly name: string;
  /** The kernel's ifindex: stable while the link exists, unique within the host. */
  readonly index: number;
  /** Administratively up (IFF_UP): what `setLinkUp()` sets. */
  readonly adminUp: boolean;
  /** Lower layer up (IFF_LOWER_UP): the cable has a live far end. Always false while admin down. */
  readonly carrier: boolean;
  readonly operState: OperState;
  readonly mtu: number;
  /** Hardware address; '00:00:00:00:00:00' for loopback, '' for links without one. */
  readonly mac: string;
}

export type LinkChangeKind =
  | 'admin-up'
  | 'admin-down'
  | 'carrier-up'
  | 'carrier-down'
  /** operState became 'up'. */
  | 'oper-up'
  /** operState left 'up'. */
  | 'oper-down'
  /** Name, MTU or MAC changed, or operState moved between two states other than 'up'. */
  | 'changed';

/**
 * One change of one link. A single kernel change may yield several events; they come in the order
 * admin, carrier, oper, changed, each carrying the link as it is after the whole change.
 */
export type LinkEvent =
  | { readonly kind: 'added'; readonly link: LinkInfo }
  | { readonly kind: 'removed'; readonly link: LinkInfo }
  | { readonly kind: LinkChangeKind; readonly link: LinkInfo; readonly previous: LinkInfo };

/**
 * A subscription to link events, as an async iterator. Events are buffered from the moment the watch
 * exists; iteration ends (done) after `close()` or when the driver closes, and throws the signal's reason
 * (a HAL_CANCELED HalError when that is not an Error) when the signal aborts, dropping what was buffered.
 * If the event source fails, or more than 1024 events wait unread, iteration throws HAL_IO after the
 * buffered events: the consumer has missed changes and should re-read `links()`. Only one `next()` may be
 * pending at a time (another rejects with HAL_BUSY). Breaking out of `for await` closes the watch.
 */
export interface LinkWatch extends AsyncIterableIterator<LinkEvent> {
  /** Stops the subscription and releases what it holds. Calling it again does nothing. */
  close(): Promise<void>;
}

export type AddressScope = 'global' | 'site' | 'link' | 'host' | 'nowhere';

export interface AddressInfo {
  readonly link: string;
  readonly family: Family;
  readonly address: string;
  readonly prefixLength: number;
  /** `${address}/${prefixLength}`. */
  readonly cidr: string;
  /** IPv4 only: the address label (the link name unless one was given). Undefined for IPv6. */
  readonly label: string | undefined;
  /** 'host' for loopback addresses, 'link' for IPv6 link-local, otherwise 'global'. */
  readonly scope: AddressScope;
  /**
   * IPv4: an earlier address on the link has the same prefix length and subnet. Removing that primary
   * removes its secondaries too (the kernel's default, promote_secondaries off): a VIP in the subnet of
   * the box's own address goes with it.
   */
  readonly secondary: boolean;
}

export interface AddAddressOptions {
  /**
   * IPv4 only (HAL_INVALID_ARGUMENT on IPv6): the label, which must begin with the link name and be at
   * most 15 bytes without white space (e.g. `eth0:vip`). Default: the link name.
   */
  label?: string;
}

export type AnnounceForm = 'request' | 'reply';

export interface AnnounceOptions {
  /**
   * 'request': ARP request, sender IP = target IP = the address, broadcast (arping -U).
   * 'reply': unsolicited ARP reply (op 2), sender = target = the address and the link's MAC, broadcast
   * (arping -A). Both make neighbours that already have an entry for the address take the new MAC.
   * Default 'request'.
   */
  form?: AnnounceForm;
  /** Frames to send: an integer from 1 to 100. Default 1. */
  count?: number;
  /** Milliseconds between the starts of consecutive frames: finite, 0 to 60000. Default 1000. */
  intervalMs?: number;
  signal?: AbortSignal;
}

export interface AnnounceResult {
  /**
   * Frames handed to the link while it had carrier. A frame due while the link has no carrier (or was
   * taken down during the burst) is skipped and not counted: the kernel would drop it.
   */
  readonly sent: number;
}

export type NeighbourState =
  | 'reachable'
  | 'stale'
  | 'delay'
  | 'probe'
  | 'failed'
  | 'incomplete'
  | 'noarp'
  | 'permanent'
  | 'none';

export interface NeighbourInfo {
  readonly link: string;
  readonly ip: string;
  /** The MAC the host believes owns `ip`; undefined while unresolved (incomplete, failed). */
  readonly mac: string | undefined;
  readonly state: NeighbourState;
}

export interface RouteSpec {
  /** 'default', or a CIDR whose host bits are zero ('10.1.0.0/16'). */
  destination: string;
  /** Next hop, of the destination's family; it must lie on a connected subnet of an up link. */
  gateway?: string;
  /** The outgoing link. A route needs a gateway, a link or both. */
  link?: string;
  /** Integer 0 to 4294967295. Default 0 for IPv4, 1024 for IPv6. With the destination, it names the route. */
  metric?: number;
}

export interface RouteInfo {
  readonly family: Family;
  /** 'default' or a CIDR. */
  readonly destination: string;
  readonly gateway: string | undefined;
  readonly link: string | undefined;
  readonly metric: number;
  /** Who made it: 'kernel' for connected routes, 'boot' for routes added through this driver. */
  readonly protocol: string;
  /** 'link' for routes without a gateway, otherwise 'global'. */
  readonly scope: string;
  /** Preferred source address (connected routes: the subnet's primary address). */
  readonly source: string | undefined;
  /** The link has no carrier: the route stays but carries nothing. */
  readonly linkDown: boolean;
}

export interface SignalOptions {
  signal?: AbortSignal;
}

/**
 * One host's network stack. Services receive one from board wiring and never build it. Changes are
 * idempotent, so a reconciler may apply its desired state again at any time. The kernel's own rules
 * apply to both drivers: taking a link admin down deletes the routes through it (connected routes come
 * back with the link, added ones do not); losing carrier only marks them `linkDown`.
 */
export interface NetDriver {
  /** Every link of the host, by index. */
  links(): Promise<LinkInfo[]>;
  /**
   * Link events from the moment the returned promise resolves: every change made after that is reported.
   * Rejects at once if the signal is already aborted, HAL_TIMEOUT if the event source cannot start.
   */
  watchLinks(options?: SignalOptions): Promise<LinkWatch>;
  /** Sets a link administratively up or down; doing it twice is no error. HAL_NOT_FOUND for an unknown link. */
  setLinkUp(link: string, up: boolean): Promise<void>;
  /** Addresses of one link, or of all links; IPv4 and IPv6, in the order the kernel lists them. */
  addresses(link?: string): Promise<AddressInfo[]>;
  /**
   * Adds `cidr` ('10.0.0.5/24': an address and a prefix length) to a link. An address already there with
   * that prefix length succeeds and is left as it is (its label included). HAL_INVALID_ARGUMENT naming
   * the CIDR when it is malformed, HAL_NOT_FOUND naming the link when there is none.
   */
  addAddress(link: string, cidr: string, options?: AddAddressOptions): Promise<void>;
  /** Removes `cidr` from a link; an address that is not there succeeds. Errors as for `addAddress`. */
  removeAddress(link: string, cidr: string): Promise<void>;
  /**
   * Gratuitous ARP for an IPv4 address of `link`: the first frame leaves at once, the rest every
   * `intervalMs` on the driver's clock; resolves once the last has been sent. HAL_INVALID_ARGUMENT for a
   * malformed IP or option, or when the address is not on `link`; HAL_UNSUPPORTED for IPv6 or a link
   * without ARP (loopback); HAL_NOT_FOUND for an unknown link; HAL_IO when the link is admin down. An
   * abort stops the burst (frames already sent stay sent) and rejects with the signal's reason.
   */
  announce(link: string, ip: string, options?: AnnounceOptions): Promise<AnnounceResult>;
  /** The neighbour (ARP/NDP) cache, of one link or all. */
  neighbours(link?: string): Promise<NeighbourInfo[]>;
  /**
   * Forgets the learned entries of a link (all, or the one for `ip`); permanent and noarp entries stay.
   * Nothing to forget succeeds. HAL_NOT_FOUND for an unknown link, HAL_INVALID_ARGUMENT for a bad IP.
   */
  flushNeighbours(link: string, ip?: string): Promise<void>;
  /** The main routing table, IPv4 then IPv6. */
  routes(): Promise<RouteInfo[]>;
  /**
   * Makes a route present: a route with the same destination and metric is replaced. HAL_INVALID_ARGUMENT
   * for a malformed spec or an unreachable gateway, HAL_NOT_FOUND for an unknown link, HAL_IO when the
   * link is down.
   */
  addRoute(route: RouteSpec): Promise<void>;
  /**
   * Removes the route with this destination and metric (and gateway and link, when given); no such
   * route succeeds. HAL_INVALID_ARGUMENT for a malformed spec, HAL_NOT_FOUND for an unknown link.
   */
  removeRoute(route: RouteSpec): Promise<void>;
  /**
   * Ends every watch, stops announcements in flight (they reject with HAL_CANCELED) and releases child
   * processes. Calling it again returns the same promise.
   */
  close(): Promise<void>;
}
