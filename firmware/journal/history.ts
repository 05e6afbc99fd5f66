import type { EpochRecord } from './types.ts';

/**
 * Epoch history arithmetic (pure). A log's history lists, per epoch, the leader and the seq of its first
 * entry, sorted by epoch (and so by startSeq). Two logs hold the same entry at seq s exactly when their
 * histories give s the same (epoch, leader): one leader writes one epoch, and it never reuses a seq.
 */

/** The epoch record covering `seq`, or undefined for seq 0 / before the first epoch. */
export function recordAt(history: readonly EpochRecord[], seq: number): EpochRecord | undefined {
  let found: EpochRecord | undefined;
  for (const r of history) {
    if (r.startSeq > seq) break;
    found = r;
  }
  return found;
}

/** The epoch of the entry at `seq` (0 for seq 0). */
export function epochAt(history: readonly EpochRecord[], seq: number): number {
  return recordAt(history, seq)?.epoch ?? 0;
}

/** The newest epoch in the history (0 for an empty log). */
export function topEpoch(history: readonly EpochRecord[]): number {
  return history[history.length - 1]?.epoch ?? 0;
}

const same = (a: EpochRecord | undefined, b: EpochRecord | undefined): boolean =>
  a === undefined ? b === undefined : b !== undefined && a.epoch === b.epoch && a.leader === b.leader;

/**
 * The highest seq up to which two logs agree entry for entry (0 when they share nothing). Entries of the
 * second log after this point are divergent: the first log never had them.
 */
export function agreementPoint(
  a: { head: number; history: readonly EpochRecord[] },
  b: { head: number; history: readonly EpochRecord[] },
): number {
  const limit = Math.min(a.head, b.head);
  const boundaries = [...a.history, ...b.history]
    .map((r) => r.startSeq)
    .filter((s) => s <= limit)
    .sort((x, y) => x - y);
  for (const s of [1, ...boundaries]) {
    if (s > limit) break;
    if (!same(recordAt(a.history, s), recordAt(b.history, s))) return s - 1;
  }
  return limit;
}

/** Returns `history` with `record` appended, refusing a record that does not extend it. */
export function extend(history: readonly EpochRecord[], record: EpochRecord): EpochRecord[] {
  const last = history[history.length - 1];
  if (last !== undefined && (record.epoch <= last.epoch || record.startSeq <= last.startSeq)) {
    throw new RangeError(
      `epoch record ${record.epoch}@${record.startSeq} does not follow ${last.epoch}@${last.startSeq}`,
    );
  }
  return [...history, record];
}
