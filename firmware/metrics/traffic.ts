/**
 * Per-service and per-server traffic, read from the forwarding tables' named counters. The forwarding
 * process owns the tables; the counters are kernel state, so this process lists them itself, through the
 * packet-filter driver, and recovers what each counter belongs to from its name (firmware/forward/nft/
 * names.ts) and its comment (`<service> <address>:<port>`, written by firmware/forward/nft/program.ts).
 */
import { HalError } from '../../hal/errors.ts';
import type { NamedCounter, PacketFilter, TableRef } from '../../hal/packetfilter/types.ts';
import { tableRefs } from '../forward/nft/program.ts';
import type { ServerTraffic, ServiceTraffic, TrafficView } from './views.ts';

export interface TrafficTable {
  readonly method: 'dr' | 'nat';
  readonly counters: readonly NamedCounter[];
}

const SERVICE = /^s_(.+)$/;
const SERVER = /^([pn])_(.+)_(\d+)$/;

/** `svc 10.0.0.1:80`, `svc [fd00::1]:*` → address and port. */
function endpoint(service: string, comment: string | undefined): { address: string; port: string } {
  const text = (comment ?? '').startsWith(`${service} `) ? (comment ?? '').slice(service.length + 1) : '';
  const where = text.replace(/ connections$/, '');
  const colon = where.lastIndexOf(':');
  if (colon < 0) return { address: where === '' ? 'unknown' : where, port: '*' };
  const address = where.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { address, port: where.slice(colon + 1) };
}

function serviceTraffic(
  method: 'dr' | 'nat',
  name: string,
  counters: readonly NamedCounter[],
): ServiceTraffic {
  const own = counters.find((c) => c.name === `s_${name}`);
  const byIndex = new Map<number, { p?: NamedCounter; n?: NamedCounter }>();
  for (const c of counters) {
    const m = SERVER.exec(c.name);
    if (m === null || m[2] !== name) continue;
    const index = Number(m[3]);
    const entry = byIndex.get(index) ?? {};
    if (m[1] === 'p') entry.p = c;
    else entry.n = c;
    byIndex.set(index, entry);
  }
  const servers = [...byIndex]
    .sort(([a], [b]) => a - b)
    .map(
      ([, { p, n }]): ServerTraffic => ({
        ...endpoint(name, (p ?? n)?.comment),
        packets: p?.packets ?? 0,
        bytes: p?.bytes ?? 0,
        connections: n?.packets ?? 0,
      }),
    );
  const sum = (f: (x: ServerTraffic) => number): number => servers.reduce((a, x) => a + f(x), 0);
  // As the forwarding plane reads them (firmware/forward/nft/plane.ts): DR's service rule sees every
  // client packet; NAT's sees each connection's first packet, the per-server counters both directions.
  return method === 'dr'
    ? {
        name,
        method,
        packets: own?.packets ?? 0,
        bytes: own?.bytes ?? 0,
        connections: sum((x) => x.connections),
        servers,
      }
    : {
        name,
        method,
        packets: sum((x) => x.packets),
        bytes: sum((x) => x.bytes),
        connections: own?.packets ?? 0,
        servers,
      };
}

/** The services found in the tables' counters, in name order. */
export function trafficFromCounters(tables: readonly TrafficTable[]): TrafficView {
  const services: ServiceTraffic[] = [];
  for (const t of tables) {
    const names = new Set<string>();
    for (const c of t.counters) {
      const s = SERVICE.exec(c.name);
      if (s?.[1] !== undefined) names.add(s[1]);
    }
    for (const name of names) services.push(serviceTraffic(t.method, name, t.counters));
  }
  services.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { services };
}

export interface NftTrafficOptions {
  /** Table names when the forwarding plane was given others than its defaults. */
  drTable?: string;
  natTable?: string;
}

/** Reads both forwarding tables; a table that does not exist (nothing forwarded that way) is empty. */
export function nftTrafficSource(
  pf: Pick<PacketFilter, 'counters'>,
  options: NftTrafficOptions = {},
): (o: { signal?: AbortSignal }) => Promise<TrafficView> {
  const refs = tableRefs({ clientLink: '', serverLink: '', ...options });
  const read = async (ref: TableRef, signal: AbortSignal | undefined): Promise<NamedCounter[]> => {
    try {
      return (await pf.counters(ref, signal === undefined ? {} : { signal })).named;
    } catch (err) {
      if (HalError.is(err, 'HAL_NOT_FOUND')) return [];
      throw err;
    }
  };
  return async ({ signal }) => {
    const [dr, nat] = await Promise.all([read(refs.dr, signal), read(refs.nat, signal)]);
    return trafficFromCounters([
      { method: 'dr', counters: dr },
      { method: 'nat', counters: nat },
    ]);
  };
}
