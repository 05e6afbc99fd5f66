/**
 * The front panel service: drives the LEDs from the appliance's state and turns button presses into
 * requests. It polls the cluster's (and, when there is one, the supervisor's) status through an
 * ApplianceLink, maps it to patterns (leds.ts), shows them with a Blinker, and feeds debounced button edges
 * to the button machines (buttons.ts). Everything runs on the Clock it is given.
 */

import type { GpioLineRole, GpioRoles } from '../../board/types.ts';
import type { Clock, Timer } from '../../hal/clock/types.ts';
import type { GpioChip, GpioDriver, GpioLine, Level } from '../../hal/gpio/types.ts';
import type { Role } from '../cluster/types.ts';
import type { ApplianceLink } from './appliance.ts';
import { Blinker, type LedOutputs } from './blink.ts';
import {
  type ButtonEvent,
  FAILOVER_IDLE,
  type FailoverAction,
  type FailoverState,
  failoverStep,
  RESET_IDLE,
  type ResetAction,
  type ResetState,
  resetDeadline,
  resetStep,
} from './buttons.ts';
import { PanelError } from './errors.ts';
import { ALL_OFF, ledPatterns } from './leds.ts';
import { ApplianceTracker } from './tracker.ts';
import {
  type ApplianceView,
  BUTTON_NAMES,
  type ButtonName,
  LED_NAMES,
  type LedName,
  type LedPatterns,
  type Overlay,
} from './types.ts';

export type PanelLog = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

export interface PanelOptions {
  gpio: GpioDriver;
  /** The board's pin map (board.gpio). */
  roles: GpioRoles;
  clock: Clock;
  appliance: ApplianceLink;
  log?: PanelLog;
  /** Between the end of one status poll and the start of the next. Default 150. */
  pollMs?: number;
  /** A cluster status older than this counts as no answer (fault solid). Default 1000. */
  staleMs?: number;
  /** How long a raised serious alarm keeps the fault LED blinking. Default 10000. */
  recentAlarmMs?: number;
  /** How long the fault LED fast-blinks after a button's request failed. Default 3000. */
  refusedMs?: number;
  /** Aborting it closes the panel. */
  signal?: AbortSignal;
}

export interface PanelSnapshot {
  /** The patterns the panel drives now. */
  readonly leds: LedPatterns;
  readonly cluster: 'starting' | 'fresh' | 'unreachable';
  readonly role: Role | undefined;
  readonly reset: ResetState['phase'];
  readonly pressed: Readonly<Record<ButtonName, boolean>>;
  /** Requests the buttons made, oldest first (the last 20). */
  readonly requests: readonly PanelRequest[];
}

export interface PanelRequest {
  readonly what: 'failover' | 'factory-reset';
  readonly atMs: number;
  /** Undefined while in flight. */
  readonly ok: boolean | undefined;
  readonly error?: string;
}

export interface PanelHandle {
  snapshot(): PanelSnapshot;
  /** Turns every LED off, releases the lines and stops polling. Calling it again returns the same promise. */
  close(): Promise<void>;
}

const CONSUMER = 'tandem-panel';

export async function startPanel(options: PanelOptions): Promise<PanelHandle> {
  if (options.signal?.aborted)
    throw new PanelError('PANEL_CLOSED', 'startPanel: the signal is already aborted');
  const chip = await options.gpio.openChip(options.roles.chip);
  try {
    const leds = {} as Record<LedName, GpioLine>;
    for (const name of LED_NAMES) leds[name] = await chip.request(ledRequest(options.roles.leds[name]));
    const buttons = {} as Record<ButtonName, GpioLine>;
    for (const name of BUTTON_NAMES) {
      buttons[name] = await chip.request(
        buttonRequest(options.roles.buttons[name], options.roles.debounceMs),
      );
    }
    const panel = new Panel(options, chip, leds, buttons);
    panel.start();
    return panel;
  } catch (err) {
    await chip.close();
    throw err;
  }
}

const ledRequest = (role: GpioLineRole) =>
  ({
    line: role.line,
    consumer: CONSUMER,
    direction: 'output',
    initial: 0,
    activeLow: role.activeLow,
  }) as const;

const buttonRequest = (role: GpioLineRole, debounceMs: number) =>
  ({
    line: role.line,
    consumer: CONSUMER,
    direction: 'input',
    activeLow: role.activeLow,
    // The button only closes a contact: the pull holds the released level.
    bias: role.activeLow ? 'pull-up' : 'pull-down',
    edge: 'both',
    debounceMs,
  }) as const;

const text = (err: unknown): string => (err instanceof Error ? err.message : String(err));

class Panel implements PanelHandle {
  private readonly clock: Clock;
  private readonly log: PanelLog;
  private readonly pollMs: number;
  private readonly refusedMs: number;
  private readonly blinker: Blinker;
  private readonly tracker: ApplianceTracker;
  private readonly unsubscribe: (() => void)[] = [];
  private pollTimer: Timer | undefined;
  private resetTimer: Timer | undefined;
  private closing: Promise<void> | undefined;

  private refusedUntil = Number.NEGATIVE_INFINITY;
  private failover: FailoverState = FAILOVER_IDLE;
  private reset: ResetState = RESET_IDLE;
  private readonly requests: { -readonly [K in keyof PanelRequest]: PanelRequest[K] }[] = [];
  private failoverInFlight = false;
  private readonly ledFailing = new Set<LedName>();

  constructor(
    private readonly o: PanelOptions,
    private readonly chip: GpioChip,
    private readonly leds: Record<LedName, GpioLine>,
    private readonly buttons: Record<ButtonName, GpioLine>,
  ) {
    this.clock = o.clock;
    this.log = o.log ?? (() => {});
    this.pollMs = o.pollMs ?? 150;
    this.refusedMs = o.refusedMs ?? 3000;
    this.tracker = new ApplianceTracker({
      startedAt: this.clock.now(),
      staleMs: o.staleMs ?? 1000,
      recentAlarmMs: o.recentAlarmMs ?? 10_000,
      log: this.log,
    });
    const outputs = Object.fromEntries(
      LED_NAMES.map((name) => [name, (level: Level) => this.setLed(name, level)]),
    ) as unknown as LedOutputs;
    this.blinker = new Blinker(this.clock, outputs, ALL_OFF);
  }

  start(): void {
    for (const name of BUTTON_NAMES) {
      this.unsubscribe.push(
        this.buttons[name].onEdge((e) => {
          try {
            this.button(
              name,
              e.value === 1 ? { type: 'press', at: e.timestampMs } : { type: 'release', at: e.timestampMs },
            );
          } catch (err) {
            this.log('error', `button ${name}: ${text(err)}`);
          }
        }),
      );
    }
    this.o.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.refresh();
    void this.poll();
  }

  private readonly onAbort = (): void => {
    void this.close();
  };

  snapshot(): PanelSnapshot {
    const view = this.view();
    return {
      leds: this.blinker.patterns,
      cluster: typeof view.cluster === 'object' ? 'fresh' : view.cluster,
      role: typeof view.cluster === 'object' ? view.cluster.role : undefined,
      reset: this.reset.phase,
      pressed: { failover: this.failover.pressedAt !== undefined, reset: this.reset.phase === 'holding' },
      requests: this.requests.map((r) => ({ ...r })),
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.o.signal?.removeEventListener('abort', this.onAbort);
      this.pollTimer?.cancel();
      this.resetTimer?.cancel();
      for (const off of this.unsubscribe.reverse()) off();
      this.blinker.close();
      for (const name of LED_NAMES) {
        try {
          this.leds[name].set(0);
        } catch (err) {
          this.log('warn', `turning LED ${name} off: ${text(err)}`);
        }
      }
      await this.chip.close();
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------------------

  /** A failing LED line is logged (once until it works again), never thrown into a timer. */
  private setLed(name: LedName, level: Level): void {
    try {
      this.leds[name].set(level);
      this.ledFailing.delete(name);
    } catch (err) {
      if (!this.ledFailing.has(name)) this.log('error', `LED ${name}: ${text(err)}`);
      this.ledFailing.add(name);
    }
  }

  private get closed(): boolean {
    return this.closing !== undefined;
  }

  private async poll(): Promise<void> {
    const [c, s] = await Promise.allSettled([
      this.o.appliance.clusterStatus(),
      this.o.appliance.supervisorStatus(),
    ]);
    if (this.closed) return;
    try {
      const now = this.clock.now();
      this.tracker.takeCluster(c, now);
      this.tracker.takeSupervisor(s, now);
      this.refresh();
    } catch (err) {
      this.log('error', `panel refresh: ${text(err)}`);
    }
    this.pollTimer = this.clock.setTimer(this.pollMs, () => void this.poll());
  }

  private view(): ApplianceView {
    return this.tracker.view(this.clock.now());
  }

  private overlay(): Overlay {
    if (this.reset.phase === 'confirming') return 'confirm-reset';
    return this.clock.now() < this.refusedUntil ? 'refused' : 'none';
  }

  private refresh(): void {
    if (this.closed) return;
    this.blinker.set(ledPatterns(this.view(), this.overlay()));
  }

  private button(name: ButtonName, event: ButtonEvent): void {
    if (this.closed) return;
    if (name === 'failover') {
      const step = failoverStep(this.failover, event);
      this.failover = step.state;
      for (const a of step.actions) this.onFailover(a);
    } else {
      this.stepReset(event);
    }
  }

  private stepReset(event: ButtonEvent): void {
    const step = resetStep(this.reset, event, this.clock.now());
    this.reset = step.state;
    for (const a of step.actions) this.onReset(a);
    this.resetTimer?.cancel();
    this.resetTimer = undefined;
    const due = resetDeadline(this.reset);
    if (due !== undefined) {
      this.resetTimer = this.clock.setTimer(Math.max(0, due - this.clock.now()), () =>
        this.stepReset({ type: 'tick' }),
      );
    }
    this.refresh();
  }

  private onFailover(action: FailoverAction): void {
    if (action.type === 'ignored') {
      this.log('info', `failover button held ${Math.round(action.heldMs)} ms (2 s or more): ignored`);
      return;
    }
    if (this.failoverInFlight) {
      this.log('info', 'failover button: a switchover request is already in flight');
      return;
    }
    this.failoverInFlight = true;
    this.log(
      'info',
      `failover button pressed (${Math.round(action.heldMs)} ms): asking for a graceful switchover`,
    );
    void this.request('failover', () => this.o.appliance.failover()).finally(() => {
      this.failoverInFlight = false;
    });
  }

  private onReset(action: ResetAction): void {
    switch (action.type) {
      case 'canceled':
        this.log('info', `reset button released after ${Math.round(action.heldMs)} ms: no factory reset`);
        return;
      case 'confirm':
        this.log('warn', 'reset button held 10 s: factory reset after the confirmation pattern');
        return;
      case 'factory-reset':
        this.log('warn', 'requesting a factory reset');
        void this.request('factory-reset', () => this.o.appliance.factoryReset());
        return;
    }
  }

  private async request(what: PanelRequest['what'], call: () => Promise<unknown>): Promise<void> {
    const entry: { -readonly [K in keyof PanelRequest]: PanelRequest[K] } = {
      what,
      atMs: this.clock.now(),
      ok: undefined,
    };
    this.requests.push(entry);
    if (this.requests.length > 20) this.requests.shift();
    try {
      const answer = await call();
      entry.ok = true;
      this.log('info', `${what}: accepted`, { answer });
    } catch (err) {
      entry.ok = false;
      entry.error = text(err);
      this.log('error', `${what} refused: ${entry.error}`);
      this.refusedUntil = this.clock.now() + this.refusedMs;
      this.refresh();
    }
  }
}
