import type { Clock, Timer } from '../clock/types.ts';
import { abortError, HalError } from '../errors.ts';
import type { Rng } from '../sim/rng.ts';
import { busyError, checkCloseArgs, checkOpenArgs, closedError } from './checks.ts';
import type { WatchdogCloseOptions, WatchdogDriver, WatchdogHandle, WatchdogOpenOptions } from './types.ts';

/** A bite: the moment the simulated hardware would have reset the box. */
export interface Bite {
  device: string;
  /** The clock's now() when it bit. */
  atMs: number;
  /** How many times this watchdog has bitten, this one included. */
  count: number;
}

/** Keep-alives that reach the hardware late, drawn from the world's seed (a stalled bus, a slow write). */
export interface LateKickFaults {
  rng: Rng;
  /** Probability that one keep-alive is late. */
  chance: number;
  /** How late it takes effect, in ms. */
  delayMs: number;
}

export interface SimWatchdogOptions {
  clock: Clock;
  /** The one path this watchdog answers to; default '/dev/watchdog'. */
  device?: string;
  /** The timeout the hardware starts with, in seconds; default 30. */
  initialTimeoutS?: number;
  /** The largest timeout the hardware takes (i6300esb: 2046); larger ones are HAL_INVALID_ARGUMENT. */
  maxTimeoutS?: number;
  /** Like the kernel's nowayout: once armed, even the magic close does not disarm it. */
  nowayout?: boolean;
  onBite?: (bite: Bite) => void;
  lateKicks?: LateKickFaults;
}

/**
 * One simulated watchdog device, owned by one simulated appliance. It counts down on the Clock while armed
 * and "bites" (calls the onBite listeners; the world resets the box) when not fed within its timeout. Like
 * the kernel: opening arms it, the timeout persists across opens, a magic close disarms it, and a plain
 * close counts as one last keep-alive and leaves it counting. Like LinuxWatchdog (whose wdctl run just
 * before the open disarms or pings the device), an open always starts a full countdown. After a bite the
 * device is disarmed and free, and the handle that was open is dead (HAL_CLOSED), as its process would be.
 */
export class SimWatchdog implements WatchdogDriver {
  readonly device: string;
  private readonly clock: Clock;
  private readonly maxTimeoutS: number;
  private readonly nowayout: boolean;
  private readonly lateKicks: LateKickFaults | undefined;
  private readonly listeners = new Set<(bite: Bite) => void>();
  private timeoutSetting: number;
  private timer: Timer | undefined;
  private deadline: number | undefined;
  private holder: SimWatchdogHandle | undefined;
  private biteCount = 0;
  private feeds = 0;
  /** Counts armings, so a late kick knows whether the countdown it was meant for still runs. */
  private arming = 0;

  constructor(options: SimWatchdogOptions) {
    this.clock = options.clock;
    this.device = options.device ?? '/dev/watchdog';
    this.timeoutSetting = options.initialTimeoutS ?? 30;
    this.maxTimeoutS = options.maxTimeoutS ?? 65535;
    this.nowayout = options.nowayout ?? false;
    this.lateKicks = options.lateKicks;
    if (options.onBite) this.listeners.add(options.onBite);
  }

  async open(device: string, options: WatchdogOpenOptions = {}): Promise<WatchdogHandle> {
    const { timeoutS, signal } = options;
    checkOpenArgs(device, timeoutS);
    if (signal?.aborted) throw abortError(signal, device);
    if (device !== this.device) {
      throw new HalError('HAL_NOT_FOUND', `cannot open watchdog ${device}: no such device`, { device });
    }
    if (this.holder !== undefined) throw busyError(device);
    if (timeoutS !== undefined) {
      if (timeoutS > this.maxTimeoutS) {
        throw new HalError(
          'HAL_INVALID_ARGUMENT',
          `watchdog ${device} refuses a timeout of ${timeoutS} s (at most ${this.maxTimeoutS} s)`,
          { device },
        );
      }
      this.timeoutSetting = timeoutS;
    }
    const handle: SimWatchdogHandle = new SimWatchdogHandle(device, this.timeoutSetting, {
      feed: () => this.feed(),
      release: (magic) => this.release(handle, magic),
    });
    this.holder = handle;
    this.restart();
    return handle;
  }

  // --- test hooks ---

  /** How many times it has bitten. */
  get bites(): number {
    return this.biteCount;
  }

  /** Keep-alives that reached the hardware (a plain close counts as one). */
  get keepAlives(): number {
    return this.feeds;
  }

  /** True while counting down. */
  get armed(): boolean {
    return this.deadline !== undefined;
  }

  /** True while a handle holds it open. */
  get held(): boolean {
    return this.holder !== undefined;
  }

  /** The timeout the hardware is programmed with, in seconds. */
  get timeoutS(): number {
    return this.timeoutSetting;
  }

  /** The clock's now() at which it will bite, or undefined when disarmed. */
  get deadlineMs(): number | undefined {
    return this.deadline;
  }

  /** Calls `listener` on every bite until the returned function is called. */
  onBite(listener: (bite: Bite) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private feed(): void {
    const late = this.lateKicks;
    if (late?.rng.chance(late.chance)) {
      const arming = this.arming;
      this.clock.setTimer(late.delayMs, () => {
        // A late kick from before a bite or a disarm must not feed the next arming.
        if (this.arming === arming && this.deadline !== undefined) this.arrive();
      });
      return;
    }
    this.arrive();
  }

  private release(handle: SimWatchdogHandle, magic: boolean): void {
    if (this.holder !== handle) return;
    this.holder = undefined;
    if (magic && !this.nowayout) this.disarm();
    else this.arrive();
  }

  private arrive(): void {
    this.feeds++;
    this.restart();
  }

  private restart(): void {
    if (this.deadline === undefined) this.arming++;
    this.timer?.cancel();
    const ms = this.timeoutSetting * 1000;
    this.deadline = this.clock.now() + ms;
    this.timer = this.clock.setTimer(ms, () => this.bite());
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.deadline = undefined;
  }

  private bite(): void {
    this.disarm();
    this.holder?.kill();
    this.holder = undefined;
    this.biteCount++;
    const bite: Bite = { device: this.device, atMs: this.clock.now(), count: this.biteCount };
    for (const listener of [...this.listeners]) listener(bite);
  }
}

interface HardwarePort {
  feed(): void;
  release(magic: boolean): void;
}

class SimWatchdogHandle implements WatchdogHandle {
  private open = true;
  private deathReason = 'was closed';

  constructor(
    readonly device: string,
    readonly timeoutS: number,
    private readonly hw: HardwarePort,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  async keepAlive(): Promise<void> {
    if (!this.open) throw closedError(this.device, this.deathReason);
    this.hw.feed();
  }

  async close(options: WatchdogCloseOptions): Promise<void> {
    checkCloseArgs(this.device, options);
    if (!this.open) throw closedError(this.device, this.deathReason);
    this.open = false;
    this.hw.release(options.magic);
  }

  /** The watchdog bit: the box reset under this handle. */
  kill(): void {
    this.open = false;
    this.deathReason = 'bit and reset the box; this handle died with it';
  }
}
