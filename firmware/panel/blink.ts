/**
 * Turns patterns into line levels over time. Blinking is phase-locked to the clock (on in the first half
 * of every period counted from 0), so every blinking LED toggles together and a fast-blink is on whenever
 * a blink turns on. `levelAt` and `nextToggle` are pure; `Blinker` drives outputs from them on a Clock,
 * with one timer armed for the next toggle of any LED.
 */
import type { Clock, Timer } from '../../hal/clock/types.ts';
import type { Level } from '../../hal/gpio/types.ts';
import type { LedName, LedPatterns, Pattern } from './types.ts';

/** Half a period: how long a blinking LED stays on, then off. */
export const HALF_PERIOD_MS: Readonly<Record<'blink' | 'fast-blink', number>> = {
  blink: 500,
  'fast-blink': 125,
};

export function levelAt(pattern: Pattern, nowMs: number): Level {
  if (pattern === 'off') return 0;
  if (pattern === 'solid') return 1;
  return Math.floor(nowMs / HALF_PERIOD_MS[pattern]) % 2 === 0 ? 1 : 0;
}

/** The next instant after `nowMs` at which one of `patterns` changes level, or undefined if none blinks. */
export function nextToggle(patterns: Iterable<Pattern>, nowMs: number): number | undefined {
  let next: number | undefined;
  for (const p of patterns) {
    if (p !== 'blink' && p !== 'fast-blink') continue;
    const half = HALF_PERIOD_MS[p];
    const at = (Math.floor(nowMs / half) + 1) * half;
    if (next === undefined || at < next) next = at;
  }
  return next;
}

export type LedOutputs = Readonly<Record<LedName, (level: Level) => void>>;

export class Blinker {
  private current: LedPatterns;
  private timer: Timer | undefined;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly outputs: LedOutputs,
    initial: LedPatterns,
  ) {
    this.current = initial;
    this.apply();
  }

  get patterns(): LedPatterns {
    return this.current;
  }

  /** Shows `patterns` from now on (levels change at once where they differ). */
  set(patterns: LedPatterns): void {
    if (this.closed) return;
    const same = (Object.keys(patterns) as LedName[]).every((k) => patterns[k] === this.current[k]);
    if (same) return;
    this.current = patterns;
    this.apply();
  }

  /** Stops blinking; the lines keep their last levels. */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private apply(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.closed) return;
    // A timer that fires a hair before the boundary (float rounding) still shows the new half-period.
    const now = this.clock.now() + 0.01;
    for (const name of Object.keys(this.outputs) as LedName[]) {
      this.outputs[name](levelAt(this.current[name], now));
    }
    const next = nextToggle(Object.values(this.current), now);
    if (next !== undefined) this.timer = this.clock.setTimer(next - now + 0.01, () => this.apply());
  }
}
