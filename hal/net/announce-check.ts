/**
 * What announce() refuses, in the order both drivers refuse it: bad arguments, an address ARP cannot
 * carry, then what the link says (it does no ARP, it is down, the address is not on it).
 */
import { HalError } from '../errors.ts';
import type { ParsedIp } from './ip.ts';
import type { AnnounceOptions } from './types.ts';
import { checkAnnounceOptions, checkIp, checkLinkName, type ResolvedAnnounce } from './validate.ts';

export interface AnnounceLinkState {
  doesArp: boolean;
  adminUp: boolean;
  /** The address to announce is one of the link's. */
  hasAddress: boolean;
}

/** The arguments of announce(): the address (IPv4 only: HAL_UNSUPPORTED otherwise) and the burst. */
export function checkAnnounce(
  link: string,
  ip: string,
  options: AnnounceOptions,
): { vip: ParsedIp; plan: ResolvedAnnounce } {
  checkLinkName(link);
  const vip = checkIp(ip);
  const plan = checkAnnounceOptions(link, options);
  if (vip.family !== 'inet') {
    throw new HalError('HAL_UNSUPPORTED', `announce ${vip.address} on ${link}: ARP is IPv4 only`, {
      device: link,
    });
  }
  return { vip, plan };
}

export function checkAnnounceLink(link: string, vip: ParsedIp, state: AnnounceLinkState): void {
  if (!state.doesArp) {
    throw new HalError('HAL_UNSUPPORTED', `announce on ${link}: the link does not do ARP`, {
      device: link,
    });
  }
  if (!state.adminUp) throw new HalError('HAL_IO', `announce on ${link}: the link is down`, { device: link });
  if (!state.hasAddress) {
    throw new HalError('HAL_INVALID_ARGUMENT', `announce: ${vip.address} is not an address of ${link}`, {
      device: link,
    });
  }
}
