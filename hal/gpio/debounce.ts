/**
 * Debouncing as a pure function of (state, sample, now). A raw change becomes the debounced value only
 * after the line has held it for `periodMs`; a bounce back within the period is forgotten. The change is
 * dated at the raw change that began the steady stretch. Both GPIO drivers use this: libgpiod 1.x (the
 * kernel's v1 uAPI) has no debounce of its own.
 */
import type { Level } from './types.ts';

export interface DebounceState {
  /** The debounced value. */
  readonly stable: Level;
  /** The latest raw value. */
  readonly raw: Level;
  /** When the raw value last changed, in the caller's monotonic ms. */
  readonly rawSince: number;
}

export interface DebounceChange {
  readonly value: Level;
  /** When the line took this value (the start of the steady stretch). */
  readonly at: number;
}

export interface DebounceResult {
  readonly state: DebounceState;
  /** Set when the debounced value changed in this step. */
  readonly change: DebounceChange | undefined;
}

export function debounceStart(value: Level, now: number): DebounceState {
  return { stable: value, raw: value, rawSince: now };
}

/**
 * Feeds one raw sample (or none, for a timer tick) taken at `now`. With `periodMs` 0 every raw change
 * passes at once.
 */
export function debounceStep(
  state: DebounceState,
  sample: Level | undefined,
  now: number,
  periodMs: number,
): DebounceResult {
  const next: DebounceState =
    sample !== undefined && sample !== state.raw ? { ...state, raw: sample, rawSince: now } : state;
  if (next.raw !== next.stable && now >= next.rawSince + periodMs) {
    return { state: { ...next, stable: next.raw }, change: { value: next.raw, at: next.rawSince } };
  }
  return { state: next, change: undefined };
}

/** When a tick would settle a pending change, or undefined when nothing is pending. */
export function debounceDeadline(state: DebounceState, periodMs: number): number | undefined {
  return state.raw === state.stable ? undefined : state.rawSince + periodMs;
}
