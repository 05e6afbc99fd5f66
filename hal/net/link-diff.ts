/** Turns two readings of one link into LinkEvents, in the order types.ts promises. Both drivers use it. */
import type { LinkChangeKind, LinkEvent, LinkInfo } from './types.ts';

export function diffLink(previous: LinkInfo | undefined, link: LinkInfo | undefined): LinkEvent[] {
  if (previous === undefined) return link === undefined ? [] : [{ kind: 'added', link }];
  if (link === undefined) return [{ kind: 'removed', link: previous }];
  const kinds: LinkChangeKind[] = [];
  if (previous.adminUp !== link.adminUp) kinds.push(link.adminUp ? 'admin-up' : 'admin-down');
  if (previous.carrier !== link.carrier) kinds.push(link.carrier ? 'carrier-up' : 'carrier-down');
  const wasUp = previous.operState === 'up';
  const isUp = link.operState === 'up';
  if (wasUp !== isUp) kinds.push(isUp ? 'oper-up' : 'oper-down');
  if (
    previous.name !== link.name ||
    previous.mtu !== link.mtu ||
    previous.mac !== link.mac ||
    (previous.operState !== link.operState && wasUp === isUp)
  ) {
    kinds.push('changed');
  }
  return kinds.map((kind) => ({ kind, link, previous }));
}
