/**
 * The takeover reconciler (the classic `fake` / IPaddr2 / send_arp): it makes the floating addresses
 * present while the cluster holds the ACTIVE role and absent otherwise, and announces them with
 * gratuitous-ARP bursts. Every change reads the links' actual addresses first and applies only the
 * difference, so any call is safe to repeat; a failed change is retried on a timer until it sticks.
 *
 * Bursts are never awaited on the takeover's path: the Linux driver's arping resolves about a second
 * after its last frame, while the first frame leaves at once.
 */
import type { Clock, Timer } from '../../hal/clock/types.ts';
import { HalError } from '../../hal/errors.ts';
import { parseIp } from '../../hal/net/ip.ts';
import type { AddressInfo, AnnounceForm, NetDriver } from '../../hal/net/types.ts';
import { labelFor, resolveTakeoverConfig } from './config.ts';
import { TakeoverError } from './errors.ts';
import type {
  AcquireTiming,
  FloatingAddress,
  Takeover,
  TakeoverConfig,
  TakeoverConfigInput,
  TakeoverStatus,
} from './types.ts';

export type TakeoverLog = (
  level: 'debug' | 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

export interface TakeoverOptions {
  net: NetDriver;
  clock: Clock;
  config: TakeoverConfigInput | TakeoverConfig;
  log?: TakeoverLog;
  /** Aborting closes the service (addresses stay as they are). */
  signal?: AbortSignal;
}

/** Builds the service (validating the configuration) without touching the links. */
export function startTakeover(options: TakeoverOptions): Takeover {
  return new TakeoverService(options);
}

type MutableTiming = { -readonly [K in keyof AcquireTiming]: AcquireTiming[K] };

const key = (link: string, cidr: string): string => `${link} ${cidr}`;
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

class TakeoverService implements Takeover {
  private readonly net: NetDriver;
  private readonly clock: Clock;
  private readonly config: TakeoverConfig;
  private readonly log: TakeoverLog;
  private readonly signal: AbortSignal | undefined;
  private desired: 'held' | 'released' = 'released';
  private chain: Promise<void> = Promise.resolve();
  private retryTimer: Timer | undefined;
  private refreshTimer: Timer | undefined;
  private bursts: AbortController | undefined;
  private closed = false;
  private present: string[] = [];
  private converged = false;
  private lastError: string | undefined;
  private readonly counters = { started: 0, failed: 0, framesSent: 0 };
  private lastAcquire: MutableTiming | undefined;
  private closing: Promise<void> | undefined;
  private readonly onAbort = (): void => {
    void this.close();
  };

  constructor(options: TakeoverOptions) {
    this.net = options.net;
    this.clock = options.clock;
    this.config = resolveTakeoverConfig(options.config);
    this.log = options.log ?? (() => {});
    this.signal = options.signal;
    if (this.signal?.aborted) this.closed = true;
    else this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  async acquire(epoch: number): Promise<void> {
    this.checkOpen('acquire');
    this.desired = 'held';
    const timing: MutableTiming = {
      epoch,
      startedAt: this.clock.now(),
      upAt: undefined,
      announcedAt: undefined,
    };
    this.lastAcquire = timing;
    const run = this.chain.then(() => this.bringUp(timing));
    this.chain = run.catch(() => {});
    await run;
    this.armRefresh();
  }

  async release(): Promise<void> {
    this.checkOpen('release');
    this.desired = 'released';
    this.stopAnnouncing();
    await this.reconcile();
  }

  announce(): void {
    if (this.closed || this.desired !== 'held') return;
    this.startBursts(this.config.garp.count);
  }

  reconcile(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError('reconcile'));
    const run = this.chain.then(() => this.apply());
    this.chain = run.catch(() => {});
    return run;
  }

  status(): TakeoverStatus {
    return {
      desired: this.desired,
      present: [...this.present],
      converged: this.converged,
      lastError: this.lastError,
      bursts: { ...this.counters },
      lastAcquire: this.lastAcquire === undefined ? undefined : { ...this.lastAcquire },
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.signal?.removeEventListener('abort', this.onAbort);
      this.retryTimer?.cancel();
      this.retryTimer = undefined;
      this.stopAnnouncing();
      await this.chain;
    })();
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------------

  private checkOpen(action: string): void {
    if (this.closed) throw this.closedError(action);
  }

  private closedError(action: string): TakeoverError {
    return new TakeoverError('TAKEOVER_CLOSED', `takeover ${action}: the service is closed`);
  }

  /** Ours: configured on that link, or carrying our label (left by an older configuration). */
  private isOurs(a: AddressInfo): boolean {
    if (this.config.addresses.some((f) => f.link === a.link && f.cidr === a.cidr)) return true;
    const label = labelFor(a.link, this.config.labelSuffix);
    return a.family === 'inet' && label !== undefined && a.label === label;
  }

  /**
   * The takeover's critical path: every address is added at once (adding is idempotent, so there is no
   * listing first) and each is announced the moment it is up. A failure falls back to the full
   * reconcile, which retries; leftovers of an older configuration are cleaned up a little later, off
   * the critical path.
   */
  private async bringUp(timing: MutableTiming): Promise<void> {
    if (this.closed || this.desired !== 'held') return;
    this.bursts?.abort();
    const bursts = new AbortController();
    this.bursts = bursts;
    const t0 = this.clock.now();
    const results = await Promise.allSettled(
      this.config.addresses.map(async (f, i) => {
        await this.net.addAddress(f.link, f.cidr, this.labelOption(f));
        if (this.desired !== 'held' || bursts.signal.aborted) return;
        timing.announcedAt ??= this.clock.now();
        this.announceAddress(f, i, this.config.garp.count, bursts.signal, t0);
      }),
    );
    if (results.every((r) => r.status === 'fulfilled')) {
      timing.upAt = this.clock.now();
      this.present = this.config.addresses.map((f) => key(f.link, f.cidr));
      this.converged = true;
      this.lastError = undefined;
      this.scheduleReconcile(1000);
      return;
    }
    await this.apply();
    timing.upAt ??= this.clock.now();
  }

  private scheduleReconcile(delayMs: number): void {
    if (this.closed) return;
    this.retryTimer?.cancel();
    this.retryTimer = this.clock.setTimer(delayMs, () => {
      this.retryTimer = undefined;
      this.reconcile().catch(() => {});
    });
  }

  private labelOption(f: FloatingAddress): { label?: string } {
    const ipv4 = parseIp(f.cidr.split('/')[0] as string)?.family === 'inet';
    const label = ipv4 ? labelFor(f.link, this.config.labelSuffix) : undefined;
    return label === undefined ? {} : { label };
  }

  private async apply(): Promise<void> {
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    if (this.closed) return;
    const want = this.desired;
    try {
      const actual = await this.net.addresses();
      const present = new Set(actual.filter((a) => this.isOurs(a)).map((a) => key(a.link, a.cidr)));
      const wanted = new Set(want === 'held' ? this.config.addresses.map((f) => key(f.link, f.cidr)) : []);
      const toAdd =
        want === 'held' ? this.config.addresses.filter((f) => !present.has(key(f.link, f.cidr))) : [];
      const toRemove = actual.filter((a) => this.isOurs(a) && !wanted.has(key(a.link, a.cidr)));
      for (const f of toAdd) {
        await this.net.addAddress(f.link, f.cidr, this.labelOption(f));
        present.add(key(f.link, f.cidr));
        if (this.desired === 'held') {
          this.bursts ??= new AbortController();
          if (this.lastAcquire) this.lastAcquire.announcedAt ??= this.clock.now();
          this.announceAddress(
            f,
            this.config.addresses.indexOf(f),
            this.config.garp.count,
            this.bursts.signal,
          );
        }
      }
      for (const a of toRemove) {
        await this.net.removeAddress(a.link, a.cidr);
        present.delete(key(a.link, a.cidr));
      }
      if (toAdd.length + toRemove.length > 0) {
        this.log('info', `takeover: ${want === 'held' ? 'acquired' : 'released'} floating addresses`, {
          added: toAdd.map((f) => key(f.link, f.cidr)),
          removed: toRemove.map((a) => key(a.link, a.cidr)),
        });
      }
      this.present = [...present];
      this.converged = true;
      this.lastError = undefined;
    } catch (err) {
      this.converged = false;
      this.lastError = errorText(err);
      this.log('error', `takeover: cannot make addresses ${want}: ${this.lastError}`);
      this.scheduleReconcile(this.config.retryMs);
      throw new TakeoverError(
        'TAKEOVER_RECONCILE_FAILED',
        `takeover: addresses not ${want}: ${this.lastError}`,
        {
          cause: err,
        },
      );
    }
  }

  private stopAnnouncing(): void {
    this.refreshTimer?.cancel();
    this.refreshTimer = undefined;
    this.bursts?.abort();
    this.bursts = undefined;
  }

  /** A burst per IPv4 address and form, replacing bursts still running (IPv6 has no ARP). */
  private startBursts(count: number, replace = true): void {
    if (replace || this.bursts === undefined) {
      this.bursts?.abort();
      this.bursts = new AbortController();
    }
    const signal = this.bursts.signal;
    const t0 = this.clock.now();
    for (const [i, f] of this.config.addresses.entries()) this.announceAddress(f, i, count, signal, t0);
  }

  /** Starts the bursts of address number `index`, each at its place in the stagger from `t0`. */
  private announceAddress(
    f: FloatingAddress,
    index: number,
    count: number,
    signal: AbortSignal,
    t0 = this.clock.now(),
  ): void {
    const ip = f.cidr.split('/')[0] as string;
    if (parseIp(ip)?.family !== 'inet') return;
    const { forms, staggerMs } = this.config.garp;
    forms.forEach((form, j) => {
      const due = t0 + (index * forms.length + j) * staggerMs - this.clock.now();
      if (due <= 0) {
        this.burst(f, ip, form, count, signal);
        return;
      }
      const timer = this.clock.setTimer(due, () => {
        signal.removeEventListener('abort', cancel);
        if (!signal.aborted) this.burst(f, ip, form, count, signal);
      });
      const cancel = (): void => timer.cancel();
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  private burst(
    f: FloatingAddress,
    ip: string,
    form: AnnounceForm,
    count: number,
    signal: AbortSignal,
  ): void {
    this.counters.started += 1;
    this.net.announce(f.link, ip, { form, count, intervalMs: this.config.garp.intervalMs, signal }).then(
      (r) => {
        this.counters.framesSent += r.sent;
      },
      (err: unknown) => {
        if (signal.aborted || HalError.is(err, 'HAL_CANCELED') || HalError.is(err, 'HAL_CLOSED')) return;
        this.counters.failed += 1;
        this.log(
          'warn',
          `takeover: gratuitous ARP for ${ip} on ${f.link} (${form}) failed: ${errorText(err)}`,
        );
      },
    );
  }

  private armRefresh(): void {
    this.refreshTimer?.cancel();
    this.refreshTimer = undefined;
    if (this.config.refreshMs === 0 || this.closed) return;
    this.refreshTimer = this.clock.setTimer(this.config.refreshMs, () => {
      this.refreshTimer = undefined;
      if (this.closed || this.desired !== 'held') return;
      this.startBursts(1, false);
      this.armRefresh();
    });
  }
}
