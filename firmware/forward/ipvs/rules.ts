/**
 * The forwarding model as IPVS rules, in ipvsadm's save/restore syntax (pure). One virtual service line
 * (`-A`) per service and one real server line (`-a`) per server that is up or draining (draining: weight
 * 0, so IPVS keeps its connections and gives it no new ones). IPVS does the scheduling itself, per
 * connection, so lc/wlc are exact here; Maglev's table size is fixed when the kernel is built (`slots` is
 * not used). An all-ports service is IPVS's port 0, which IPVS accepts only with persistence.
 */
import { ForwardError } from '../errors.ts';
import type { DesiredForwarding, VirtualService } from '../model.ts';

export interface IpvsRules {
  /** Service line by its `-t|-u addr:port` key. */
  readonly services: ReadonlyMap<string, string>;
  /** Real server line by `<service key> -r addr:port`. */
  readonly reals: ReadonlyMap<string, string>;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function serviceKey(s: VirtualService): string {
  return `${s.protocol === 'tcp' ? '-t' : '-u'} ${hostPort(s.vip, s.port ?? 0)}`;
}

export function ipvsRules(desired: DesiredForwarding): IpvsRules {
  const services = new Map<string, string>();
  const reals = new Map<string, string>();
  desired.services.forEach((s, i) => {
    if (s.port === undefined && s.persistence === 0) {
      throw new ForwardError(
        'FORWARD_UNSUPPORTED',
        `forwarding: field services.${i}.port: IPVS takes an all-ports service only with persistence, got none for ${s.name}`,
        { field: `services.${i}.persistence` },
      );
    }
    const key = serviceKey(s);
    services.set(key, `-A ${key} -s ${s.scheduler}${s.persistence > 0 ? ` -p ${s.persistence}` : ''}`);
    for (const r of s.servers) {
      if (r.state === 'down') continue;
      const real = `${key} -r ${hostPort(r.address, r.port ?? s.port ?? 0)}`;
      const weight = r.state === 'drain' ? 0 : r.weight;
      reals.set(real, `-a ${real} ${s.method === 'dr' ? '-g' : '-m'} -w ${weight}`);
    }
  });
  return { services, reals };
}

/** Reads `ipvsadm -S -n` output back into rules (lines normalised the way ipvsRules writes them). */
export function parseSaved(text: string): IpvsRules {
  const services = new Map<string, string>();
  const reals = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const words = raw.trim().split(/\s+/);
    const kind = words[0];
    const proto = words[1];
    const vaddr = words[2];
    if ((kind !== '-A' && kind !== '-a') || (proto !== '-t' && proto !== '-u') || vaddr === undefined)
      continue;
    const opt = (flag: string): string | undefined => {
      const at = words.indexOf(flag);
      return at < 0 ? undefined : words[at + 1];
    };
    const key = `${proto} ${vaddr}`;
    if (kind === '-A') {
      const p = opt('-p');
      services.set(key, `-A ${key} -s ${opt('-s') ?? 'wlc'}${p === undefined ? '' : ` -p ${p}`}`);
    } else {
      const real = `${key} -r ${opt('-r')}`;
      const method = words.includes('-m') ? '-m' : words.includes('-i') ? '-i' : '-g';
      reals.set(real, `-a ${real} ${method} -w ${opt('-w') ?? '1'}`);
    }
  }
  return { services, reals };
}

/** ipvsadm-restore commands that turn `current` into `wanted`: deletions first, then additions, edits. */
export function diffRules(current: IpvsRules, wanted: IpvsRules): string[] {
  const out: string[] = [];
  for (const key of current.services.keys()) if (!wanted.services.has(key)) out.push(`-D ${key}`);
  for (const [real] of current.reals) {
    const service = real.slice(0, real.indexOf(' -r '));
    if (!wanted.reals.has(real) && wanted.services.has(service)) out.push(`-d ${real}`);
  }
  for (const [key, line] of wanted.services) {
    const now = current.services.get(key);
    if (now === undefined) out.push(line);
    else if (now !== line) out.push(line.replace(/^-A/, '-E'));
  }
  for (const [real, line] of wanted.reals) {
    const now = current.reals.get(real);
    const method = (l: string): string | undefined => / (-[gmi]) /.exec(l)?.[1];
    if (now !== undefined && method(now) !== method(line)) {
      // IPVS cannot edit a server's forwarding method in place.
      out.push(`-d ${real}`, line);
    } else if (now === undefined) out.push(line);
    else if (now !== line) out.push(line.replace(/^-a/, '-e'));
  }
  return out;
}

export interface IpvsStatsRow {
  readonly service: string;
  /** undefined for the service's own row. */
  readonly real: string | undefined;
  readonly conns: number;
  readonly inPkts: number;
  readonly outPkts: number;
  readonly inBytes: number;
  readonly outBytes: number;
}

/** Parses `ipvsadm -L -n --stats --exact`. */
export function parseStats(text: string): IpvsStatsRow[] {
  const rows: IpvsStatsRow[] = [];
  let service: string | undefined;
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    const numbers = words.slice(-5).map(Number);
    if (words.length < 6 || numbers.some((n) => !Number.isFinite(n))) continue;
    const [conns, inPkts, outPkts, inBytes, outBytes] = numbers as [number, number, number, number, number];
    if (words[0] === 'TCP' || words[0] === 'UDP') {
      service = `${words[0] === 'TCP' ? '-t' : '-u'} ${words[1]}`;
      rows.push({ service, real: undefined, conns, inPkts, outPkts, inBytes, outBytes });
    } else if (words[0] === '->' && service !== undefined) {
      rows.push({ service, real: words[1], conns, inPkts, outPkts, inBytes, outBytes });
    }
  }
  return rows;
}
