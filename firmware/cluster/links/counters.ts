import type { DecodeError, DecodeErrorKind } from '../codec.ts';
import type { LinkCounters } from './types.ts';

const KINDS: readonly DecodeErrorKind[] = [
  'garbage',
  'bad-length',
  'bad-version',
  'bad-crc',
  'bad-mac',
  'bad-payload',
];

export function newCounters(): LinkCounters {
  const decodeErrors = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<DecodeErrorKind, number>;
  return {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    decodeErrors,
    drops: { superseded: 0, notOpen: 0, sendFailed: 0, foreign: 0 },
    opens: 0,
  };
}

export function countErrors(counters: LinkCounters, errors: readonly DecodeError[]): void {
  for (const e of errors) counters.decodeErrors[e.kind] += 1;
}

/** A deep copy, so a caller's snapshot does not move under it. */
export function copyCounters(c: LinkCounters): LinkCounters {
  return { ...c, decodeErrors: { ...c.decodeErrors }, drops: { ...c.drops } };
}
