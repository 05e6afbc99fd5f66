/**
 * The Linux net driver: iproute2 for reading (`ip -j`) and changing links, addresses, neighbours and
 * routes, `ip -o monitor link` for link events, and gratuitous ARP through a long-lived python3 helper
 * on an AF_PACKET socket (linux-garp.ts; iputils `arping` where python3 is missing). With `netns`
 * every command runs in that network namespace (`ip -n`, `ip netns exec`). Frames of a burst leave on
 * this driver's Clock; a frame due while the link has no carrier is skipped.
 */
import { LinuxClock } from '../clock/linux.ts';
import type { Clock } from '../clock/types.ts';
import { abortError, HalError } from '../errors.ts';
import { checkAnnounce } from './announce-check.ts';
import { NetLifecycle } from './lifecycle.ts';
import { diffLink } from './link-diff.ts';
import { LinuxTools } from './linux-exec.ts';
import { type GarpSender, LinuxGarp } from './linux-garp.ts';
import { MonitorProcess } from './linux-monitor.ts';
import { parseAddresses, parseLinks, parseMonitorLine, parseNeighbours, parseRoutes } from './linux-parse.ts';
import type {
  AddAddressOptions,
  AddressInfo,
  AnnounceOptions,
  AnnounceResult,
  LinkInfo,
  LinkWatch,
  NeighbourInfo,
  NetDriver,
  RouteInfo,
  RouteSpec,
  SignalOptions,
} from './types.ts';
import { checkIp, checkLabel, checkLinkName, checkRoute, parseCidr, type ResolvedRoute } from './validate.ts';
import { LinkEventQueue } from './watch-queue.ts';

export interface LinuxNetOptions {
  /** Run against this network namespace (as `ip netns` names it) instead of the process's own. */
  netns?: string;
  /** Times announcement bursts and the monitor's start-up. Default: the host's monotonic clock. */
  clock?: Clock;
  /** How long a link monitor may take to subscribe. Default 5000 ms. */
  monitorReadyMs?: number;
  /** 'arping' sends gratuitous ARP with a process per frame instead of the helper. Default 'helper'. */
  garpSender?: GarpSender;
  /** The gratuitous-ARP helper's interpreter. Default 'python3'; one that cannot start means arping. */
  python?: string;
  /** Where the one fall-back warning goes. Default: stderr. */
  warn?: (message: string) => void;
}

const ADDRESS_PRESENT = /File exists|already assigned/;
const ADDRESS_ABSENT = /Cannot assign requested address|Address not found/;
const ROUTE_ABSENT = /No such process/;

export class LinuxNet implements NetDriver {
  private readonly tools: LinuxTools;
  private readonly clock: Clock;
  private readonly host: string;
  private readonly readyMs: number;
  private readonly life: NetLifecycle;
  private readonly garp: LinuxGarp;
  private closing: Promise<void> | undefined;

  constructor(options: LinuxNetOptions = {}) {
    this.tools = new LinuxTools(options.netns);
    this.clock = options.clock ?? new LinuxClock();
    this.host = options.netns === undefined ? 'host' : `netns ${options.netns}`;
    this.readyMs = options.monitorReadyMs ?? 5000;
    this.life = new NetLifecycle(this.host);
    this.garp = new LinuxGarp({
      tools: this.tools,
      netns: options.netns,
      where: this.host,
      sender: options.garpSender ?? 'helper',
      python: options.python,
      warn: options.warn ?? ((m) => process.stderr.write(`${m}\n`)),
    });
  }

  async links(): Promise<LinkInfo[]> {
    this.life.checkOpen();
    const { stdout } = await this.tools.ip(['-j', 'link', 'show'], this.how('list links of', this.host));
    return parseLinks(stdout);
  }

  async watchLinks(options: SignalOptions = {}): Promise<LinkWatch> {
    this.life.checkOpen();
    const { signal } = options;
    if (signal?.aborted) throw abortError(signal, this.host);
    const monitor = new MonitorProcess(this.tools.ipArgv(['-o', 'monitor', 'link']), this.host);
    let snapshot: LinkInfo[];
    try {
      await monitor.ready(this.clock, this.readyMs, this.life.signalWith(signal));
      snapshot = await this.links();
    } catch (err) {
      await monitor.stop();
      throw err;
    }
    const known = new Map(snapshot.map((l) => [l.index, l]));
    const watch: LinkEventQueue = new LinkEventQueue(this.host, signal, async () => {
      this.life.watches.delete(watch);
      await monitor.stop();
    });
    this.life.watches.add(watch);
    monitor.onExit((why) => {
      watch.fail(
        new HalError('HAL_IO', `link monitor of ${this.host} stopped: ${why}`, { device: this.host }),
      );
    });
    monitor.onLine((line) => {
      const record = parseMonitorLine(line);
      if (record === undefined) return;
      const { index } = record.link;
      const before = known.get(index);
      if (record.deleted) {
        known.delete(index);
        watch.push({ kind: 'removed', link: before ?? record.link });
        return;
      }
      known.set(index, record.link);
      for (const event of diffLink(before, record.link)) watch.push(event);
    });
    return watch;
  }

  async setLinkUp(link: string, up: boolean): Promise<void> {
    this.life.checkOpen();
    checkLinkName(link);
    await this.tools.ip(
      ['link', 'set', 'dev', link, up ? 'up' : 'down'],
      this.how(`set ${up ? 'up' : 'down'}`, link),
    );
  }

  async addresses(link?: string): Promise<AddressInfo[]> {
    this.life.checkOpen();
    if (link !== undefined) checkLinkName(link);
    this.garp.warm();
    const dev = link === undefined ? [] : ['dev', link];
    const { stdout } = await this.tools.ip(
      ['-j', 'addr', 'show', ...dev],
      this.how('list addresses of', link ?? this.host),
    );
    return parseAddresses(stdout);
  }

  async addAddress(link: string, cidr: string, options: AddAddressOptions = {}): Promise<void> {
    this.life.checkOpen();
    checkLinkName(link);
    const parsed = parseCidr(cidr);
    const label = checkLabel(link, parsed.family, options.label);
    if (parsed.family === 'inet') this.garp.warm();
    await this.tools.ip(
      ['addr', 'add', parsed.cidr, 'dev', link, ...(label === undefined ? [] : ['label', label])],
      {
        ...this.how(`add ${parsed.cidr} to`, link),
        tolerate: ADDRESS_PRESENT,
      },
    );
  }

  async removeAddress(link: string, cidr: string): Promise<void> {
    this.life.checkOpen();
    checkLinkName(link);
    const parsed = parseCidr(cidr);
    await this.tools.ip(['addr', 'del', parsed.cidr, 'dev', link], {
      ...this.how(`remove ${parsed.cidr} from`, link),
      tolerate: ADDRESS_ABSENT,
    });
  }

  async announce(link: string, ip: string, options: AnnounceOptions = {}): Promise<AnnounceResult> {
    this.life.checkOpen();
    const { vip, plan } = checkAnnounce(link, ip, options);
    const burst = { link, vip, form: plan.form, count: plan.count, intervalMs: plan.intervalMs };
    const sent = await this.garp.announce(burst, this.clock, this.life.signalWith(options.signal));
    return { sent };
  }

  async neighbours(link?: string): Promise<NeighbourInfo[]> {
    this.life.checkOpen();
    if (link !== undefined) checkLinkName(link);
    const dev = link === undefined ? [] : ['dev', link];
    const { stdout } = await this.tools.ip(
      ['-j', 'neigh', 'show', ...dev],
      this.how('list neighbours of', link ?? this.host),
    );
    return parseNeighbours(stdout, link);
  }

  async flushNeighbours(link: string, ip?: string): Promise<void> {
    this.life.checkOpen();
    checkLinkName(link);
    const to = ip === undefined ? [] : ['to', checkIp(ip).address];
    await this.tools.ip(['neigh', 'flush', 'dev', link, ...to], this.how('flush neighbours of', link));
  }

  async routes(): Promise<RouteInfo[]> {
    this.life.checkOpen();
    const how = this.how('list routes of', this.host);
    const [v4, v6] = await Promise.all([
      this.tools.ip(['-j', '-4', 'route', 'show', 'table', 'main'], how),
      this.tools.ip(['-j', '-6', 'route', 'show', 'table', 'main'], how),
    ]);
    return [...parseRoutes(v4.stdout, 'inet'), ...parseRoutes(v6.stdout, 'inet6')];
  }

  async addRoute(route: RouteSpec): Promise<void> {
    this.life.checkOpen();
    const r = checkRoute(route, true);
    await this.tools.ip(
      [familyFlag(r), 'route', 'replace', ...routeArgs(r)],
      this.how('add route', r.destination),
    );
  }

  async removeRoute(route: RouteSpec): Promise<void> {
    this.life.checkOpen();
    const r = checkRoute(route, false);
    await this.tools.ip([familyFlag(r), 'route', 'del', ...routeArgs(r)], {
      ...this.how('remove route', r.destination),
      tolerate: ROUTE_ABSENT,
    });
  }

  close(): Promise<void> {
    this.closing ??= this.life.close().then(() => this.garp.close());
    return this.closing;
  }

  /** Which sender gratuitous ARP uses now ('arping' after a fall-back), and the helper's PID. */
  get garpSender(): { sender: GarpSender; pid: number | undefined } {
    return { sender: this.garp.sender, pid: this.garp.helperPid };
  }

  private how(action: string, device: string): { action: string; device: string; signal: AbortSignal } {
    return { action, device, signal: this.life.signal };
  }
}

const familyFlag = (r: ResolvedRoute): string => (r.family === 'inet' ? '-4' : '-6');

function routeArgs(r: ResolvedRoute): string[] {
  return [
    r.destination,
    ...(r.gateway === undefined ? [] : ['via', r.gateway.address]),
    ...(r.link === undefined ? [] : ['dev', r.link]),
    'metric',
    String(r.metric),
  ];
}
