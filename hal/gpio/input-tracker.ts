/**
 * One input line's debounced value and edge events: raw logical samples go in (the sim feeds every change,
 * the Linux driver every poll), a timer on the Clock settles a pending change at its deadline, and
 * changes that pass the edge filter come out on an EdgeStream. Shared by both drivers.
 */
import type { Clock, Timer } from '../clock/types.ts';
import { type DebounceState, debounceDeadline, debounceStart, debounceStep } from './debounce.ts';
import type { EdgeStream } from './edge-stream.ts';
import type { EdgeDetect, Level } from './types.ts';

export class InputTracker {
  private state: DebounceState;
  private timer: Timer | undefined;
  private armedFor: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly offset: number,
    private readonly edge: EdgeDetect,
    private readonly debounceMs: number,
    private readonly stream: EdgeStream,
    initial: Level,
  ) {
    this.state = debounceStart(initial, clock.now());
  }

  /** The debounced logical value. */
  value(): Level {
    return this.state.stable;
  }

  /** A raw logical reading taken now. */
  sample(raw: Level): void {
    this.step(raw, this.clock.now());
  }

  /** Cancels the pending debounce timer; the stream is the line's to end. */
  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.armedFor = undefined;
  }

  private step(raw: Level | undefined, now: number): void {
    const { state, change } = debounceStep(this.state, raw, now, this.debounceMs);
    this.state = state;
    this.arm();
    if (change === undefined) return;
    const edge = change.value === 1 ? 'rising' : 'falling';
    if (this.edge === 'both' || this.edge === edge) {
      this.stream.emit({ offset: this.offset, edge, value: change.value, timestampMs: change.at });
    }
  }

  private arm(): void {
    const deadline = debounceDeadline(this.state, this.debounceMs);
    if (deadline === this.armedFor) return;
    this.close();
    if (deadline === undefined) return;
    this.armedFor = deadline;
    this.timer = this.clock.setTimer(Math.max(0, deadline - this.clock.now()), () => {
      this.timer = undefined;
      this.armedFor = undefined;
      // The Clock fires no earlier than the deadline; max() only absorbs floating-point rounding of now().
      this.step(undefined, Math.max(this.clock.now(), deadline));
    });
  }
}
