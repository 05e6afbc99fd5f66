/** Every check kind, by tag. The only place a kind is registered (keepalived's queue_checker). */
import { dns } from './dns.ts';
import { http } from './http.ts';
import { https } from './https.ts';
import { icmp } from './icmp.ts';
import { maintenance } from './maintenance.ts';
import { script } from './script.ts';
import { tcp } from './tcp.ts';
import type { CheckKind } from './types.ts';

export const CHECK_KINDS: readonly CheckKind[] = [tcp, http, https, icmp, dns, script, maintenance];

const byKind = new Map(CHECK_KINDS.map((k) => [k.kind, k]));

export function findKind(kind: string): CheckKind | undefined {
  return byKind.get(kind);
}

export const KIND_NAMES: readonly string[] = CHECK_KINDS.map((k) => k.kind);
