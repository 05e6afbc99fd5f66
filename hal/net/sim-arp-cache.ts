/**
 * A simulated host's neighbour table with the kernel's update rules (net/ipv4/arp.c, neigh_update): an
 * entry learned from a broadcast is 'stale', from a reply sent to us 'reachable'; within the lock time a
 * second, different non-gratuitous answer does not displace a fresh one; permanent and noarp entries are
 * never learned over or flushed.
 */
import type { NeighbourInfo, NeighbourState } from './types.ts';

/** The part of a link the cache needs: its identity and name. */
export interface CacheLink {
  readonly index: number;
  readonly name: string;
}

interface Entry {
  link: CacheLink;
  ip: string;
  mac: string | undefined;
  state: NeighbourState;
}

const pinned = (e: Entry): boolean => e.state === 'permanent' || e.state === 'noarp';

export class SimArpCache {
  private entries: Entry[] = [];

  list(link?: CacheLink): NeighbourInfo[] {
    return this.entries
      .filter((e) => link === undefined || e.link === link)
      .map((e) => ({ link: e.link.name, ip: e.ip, mac: e.mac, state: e.state }));
  }

  has(link: CacheLink, ip: string): boolean {
    return this.find(link, ip) !== undefined;
  }

  /** The MAC of a usable entry, or undefined. */
  macOf(link: CacheLink, ip: string): string | undefined {
    const e = this.find(link, ip);
    return e === undefined || e.state === 'incomplete' || e.state === 'failed' ? undefined : e.mac;
  }

  /** Forgets learned entries of `link` (all, or the one for `ip`). */
  flush(link: CacheLink, ip?: string): void {
    this.entries = this.entries.filter(
      (e) => e.link !== link || (ip !== undefined && e.ip !== ip) || pinned(e),
    );
  }

  /** Drops every entry of a deleted link. */
  dropLink(link: CacheLink): void {
    this.entries = this.entries.filter((e) => e.link !== link);
  }

  /** A resolution starts: the entry waits for an answer. */
  startResolve(link: CacheLink, ip: string): void {
    const e = this.find(link, ip);
    if (e === undefined) this.entries.push({ link, ip, mac: undefined, state: 'incomplete' });
    else if (!pinned(e)) e.state = 'incomplete';
  }

  /** A resolution ends: an entry still without an answer has failed. */
  endResolve(link: CacheLink, ip: string): void {
    const e = this.find(link, ip);
    if (e?.state === 'incomplete') {
      e.state = 'failed';
      e.mac = undefined;
    }
  }

  /** Takes `mac` for `ip`; `override` as the kernel sets it for gratuitous ARP and requests to us. */
  learn(link: CacheLink, ip: string, mac: string, state: NeighbourState, override: boolean): void {
    const e = this.find(link, ip);
    if (e === undefined) {
      this.entries.push({ link, ip, mac, state });
      return;
    }
    if (pinned(e)) return;
    if (!override && e.state === 'reachable' && e.mac !== mac) return;
    if (e.mac === mac && state === 'stale' && e.state === 'reachable') return;
    e.mac = mac;
    e.state = state;
  }

  private find(link: CacheLink, ip: string): Entry | undefined {
    return this.entries.find((e) => e.link === link && e.ip === ip);
  }
}
