/**
 * Keeping counters counting across restarts of what they mirror. A source's totals start again from
 * zero when its process restarts (or a forwarding server is removed and added again); the exposition
 * stays monotonic for the life of this process by carrying what was counted before the drop.
 */
export class MonotonicCounters {
  private readonly series = new Map<string, { last: number; carried: number }>();

  /** The total to expose for the series `key` whose source now reports `raw`. */
  value(key: string, raw: number): number {
    const s = this.series.get(key);
    if (s === undefined) {
      this.series.set(key, { last: raw, carried: 0 });
      return raw;
    }
    if (raw < s.last) s.carried += s.last;
    s.last = raw;
    return s.carried + raw;
  }
}

export interface Transition {
  readonly at: number;
  readonly reason: string;
}

/**
 * Role transitions by reason. The cluster reports only its last 50 transitions, stamped with its own
 * monotonic clock; each reading counts the ones it has not counted yet. A new boot of the cluster starts
 * a new clock, so everything it reports is new.
 */
export class TransitionTally {
  private boot: number | undefined;
  private lastAt = Number.NEGATIVE_INFINITY;
  /** How many transitions stamped `lastAt` were already counted (several can share a millisecond). */
  private atLast = 0;
  private readonly totals = new Map<string, number>();

  observe(boot: number, transitions: readonly Transition[]): void {
    if (boot !== this.boot) {
      this.boot = boot;
      this.lastAt = Number.NEGATIVE_INFINITY;
      this.atLast = 0;
    }
    let sameAsLast = 0;
    let newestAt = this.lastAt;
    let atNewest = this.atLast;
    for (const t of transitions) {
      if (t.at < this.lastAt) continue;
      if (t.at === this.lastAt) {
        sameAsLast += 1;
        if (sameAsLast <= this.atLast) continue;
      }
      this.totals.set(t.reason, (this.totals.get(t.reason) ?? 0) + 1);
      if (t.at > newestAt) {
        newestAt = t.at;
        atNewest = 0;
      }
      atNewest += 1;
    }
    this.lastAt = newestAt;
    this.atLast = atNewest;
  }

  /** Totals by reason, in reason order. */
  byReason(): Record<string, number> {
    return Object.fromEntries([...this.totals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
