/**
 * Reads LED patterns back from what the lines did: the observable truth of the simulated panel. A line
 * that changed twice recently blinks (fast when the last half-period was at most 250 ms); a line that has
 * held its level for longer than a blink's half-period (plus slack for a late timer) is solid or off.
 * Levels are "lit or not": an active-low LED lights on a low pin.
 */
import type { GpioLineRole } from '../../board/types.ts';
import type { Clock, Timer } from '../../hal/clock/types.ts';
import type { SimGpioChip } from '../../hal/gpio/sim.ts';
import type { Level } from '../../hal/gpio/types.ts';
import { LED_NAMES, type LedName, type LedPatterns, type Pattern } from './types.ts';

/** How far back changes count. */
export const OBSERVE_WINDOW_MS = 1500;
/** A level held longer than this is steady (a blink's half-period is 500 ms). */
export const STEADY_AFTER_MS = 700;

export interface LineChange {
  readonly atMs: number;
  readonly level: Level;
}

/** The pattern a line shows, from its recent changes (oldest first), its level now, and now. */
export function observedPattern(changes: readonly LineChange[], level: Level, nowMs: number): Pattern {
  const recent = changes.filter((c) => c.atMs > nowMs - OBSERVE_WINDOW_MS);
  const last = recent.at(-1);
  const before = recent.at(-2);
  if (last === undefined || nowMs - last.atMs > STEADY_AFTER_MS || before === undefined) {
    return level === 1 ? 'solid' : 'off';
  }
  return last.atMs - before.atMs <= 250 ? 'fast-blink' : 'blink';
}

/**
 * Watches the LED lines of a simulated chip. It takes the chip's change history as it goes (and clears
 * it, so a blinking panel does not grow it without end): the owner of the chip must be its only reader.
 */
export class LedObserver {
  private readonly changes = new Map<number, LineChange[]>();
  private readonly timer: { current: Timer | undefined } = { current: undefined };

  constructor(
    private readonly chip: SimGpioChip,
    private readonly lines: Readonly<Record<LedName, GpioLineRole>>,
    private readonly clock: Clock,
  ) {
    this.schedule();
  }

  /** Each LED's pattern as the lines show it now. */
  patterns(): LedPatterns {
    this.drain();
    const now = this.clock.now();
    const out = {} as Record<LedName, Pattern>;
    for (const name of LED_NAMES) {
      const { line, activeLow } = this.lines[name];
      // An active-low LED is lit when its pin is low.
      const lit = (level: Level): Level => (activeLow ? (level === 1 ? 0 : 1) : level);
      const changes = (this.changes.get(line) ?? []).map((c) => ({ atMs: c.atMs, level: lit(c.level) }));
      out[name] = observedPattern(changes, lit(this.chip.level(line)), now);
    }
    return out;
  }

  close(): void {
    this.timer.current?.cancel();
    this.timer.current = undefined;
  }

  private schedule(): void {
    this.timer.current = this.clock.setTimer(OBSERVE_WINDOW_MS, () => {
      this.drain();
      this.schedule();
    });
  }

  private drain(): void {
    const since = this.clock.now() - OBSERVE_WINDOW_MS;
    for (const c of this.chip.history()) {
      const list = this.changes.get(c.offset) ?? [];
      list.push({ atMs: c.atMs, level: c.level });
      this.changes.set(c.offset, list);
    }
    this.chip.clearHistory();
    for (const [offset, list] of this.changes) {
      // Keep the window, and at least the last two changes: the level since then is known.
      const keep = list.filter((c, i) => c.atMs > since || i >= list.length - 2);
      this.changes.set(offset, keep);
    }
  }
}
