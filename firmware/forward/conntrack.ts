/**
 * Open connections per real server, from the kernel's connection tracking table (`conntrack -L`), for
 * the lc/wlc re-weighting of NAT services. The parser is pure; ConntrackReader runs the tool (inside a
 * network namespace when given one), owning the child: an abort kills it by PID.
 */
import { spawn } from 'node:child_process';
import { ForwardError } from './errors.ts';
import { canonicalAddress, type DesiredForwarding, serverKey } from './model.ts';
import type { ActiveConnections } from './reweight.ts';

export interface TrackedFlow {
  readonly protocol: string;
  readonly state: string | undefined;
  readonly original: { src: string; dst: string; sport: number; dport: number };
  readonly reply: { src: string; dst: string; sport: number; dport: number };
}

/** One line of `conntrack -L` output, or undefined for a line that is not a flow. */
export function parseConntrackLine(line: string): TrackedFlow | undefined {
  const words = line.trim().split(/\s+/);
  const protocol = words.find((w) => w === 'tcp' || w === 'udp' || w === 'sctp');
  if (protocol === undefined) return undefined;
  const state = words.find((w) => /^[A-Z_]{4,}$/.test(w));
  const tuples: Record<string, string>[] = [];
  for (const w of words) {
    const m = /^(src|dst|sport|dport)=(.+)$/.exec(w);
    if (m === null) continue;
    const [, key, value] = m as unknown as [string, string, string];
    let current = tuples[tuples.length - 1];
    if (current === undefined || key in current) {
      current = {};
      tuples.push(current);
    }
    current[key] = value;
  }
  const [o, r] = tuples;
  if (o === undefined || r === undefined) return undefined;
  const tuple = (t: Record<string, string>) => ({
    src: canonicalAddress(t.src ?? ''),
    dst: canonicalAddress(t.dst ?? ''),
    sport: Number(t.sport),
    dport: Number(t.dport),
  });
  return { protocol, state, original: tuple(o), reply: tuple(r) };
}

/** Established flows per service and server key, for the services of `desired`. */
export function countActive(desired: DesiredForwarding, flows: Iterable<TrackedFlow>): ActiveConnections {
  const out = new Map<string, Map<string, number>>();
  const services = desired.services.filter((s) => s.method === 'nat');
  for (const f of flows) {
    if (f.state !== undefined && f.state !== 'ESTABLISHED') continue;
    const s = services.find(
      (x) =>
        x.vip === f.original.dst &&
        x.protocol === f.protocol &&
        (x.port === undefined || x.port === f.original.dport),
    );
    if (s === undefined) continue;
    const r = s.servers.find(
      (x) => x.address === f.reply.src && (x.port ?? f.original.dport) === f.reply.sport,
    );
    if (r === undefined) continue;
    const perService = out.get(s.name) ?? new Map<string, number>();
    const key = serverKey(s, r);
    perService.set(key, (perService.get(key) ?? 0) + 1);
    out.set(s.name, perService);
  }
  return out;
}

export interface ConnectionReader {
  activeConnections(
    desired: DesiredForwarding,
    options?: { signal?: AbortSignal },
  ): Promise<ActiveConnections>;
}

export class ConntrackReader implements ConnectionReader {
  constructor(private readonly options: { netns?: string; timeoutMs?: number } = {}) {}

  async activeConnections(
    desired: DesiredForwarding,
    options: { signal?: AbortSignal } = {},
  ): Promise<ActiveConnections> {
    const argv = ['conntrack', '-L', '--state', 'ESTABLISHED'];
    const full =
      this.options.netns === undefined ? argv : ['ip', 'netns', 'exec', this.options.netns, ...argv];
    const text = await runOwned(full, this.options.timeoutMs ?? 10_000, options.signal);
    const flows: TrackedFlow[] = [];
    for (const line of text.split('\n')) {
      const flow = parseConntrackLine(line);
      if (flow !== undefined) flows.push(flow);
    }
    return countActive(desired, flows);
  }
}

function runOwned(
  argv: readonly string[],
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<string> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const [file, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    const kill = (): void => {
      if (child.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    const timer = setTimeout(kill, timeoutMs);
    signal?.addEventListener('abort', kill, { once: true });
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', kill);
      reject(new ForwardError('FORWARD_IO', `cannot run ${file}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', kill);
      if (signal?.aborted) reject(signal.reason);
      else if (code !== 0)
        reject(new ForwardError('FORWARD_IO', `${argv.join(' ')} exited ${code}: ${stderr.trim()}`));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}
