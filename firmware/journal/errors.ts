/**
 * The journal's error catalogue (fastify style: one place, one message template per code). Callers branch
 * on `code` (a string-literal union, so a `switch` is exhaustive) or `instanceof JournalError`, never on
 * the message. A wrapped SQLite, socket or file-system error travels in `cause`.
 */
import { FirmwareError } from '../errors.ts';
export type JournalErrorCode =
  | 'JOURNAL_INVALID_ARGUMENT' // a caller passed a value the API forbids
  | 'JOURNAL_NOT_LEADER' // a local write on a node that is not the leader (the standby takes changes only by replication)
  | 'JOURNAL_STALE_EPOCH' // an epoch not newer than one this node has already seen
  | 'JOURNAL_RECOVERING' // the node restored from a snapshot or started empty and must resync from the peer first
  | 'JOURNAL_NO_CANDIDATE' // commit with no candidate configuration
  | 'JOURNAL_NO_SUCH_VERSION' // rollback or diff to a configuration version that does not exist
  | 'JOURNAL_VERSION_CONFLICT' // commit based on a running version that has changed since
  | 'JOURNAL_SCHEMA_TOO_NEW' // the file was written by newer firmware
  | 'JOURNAL_CORRUPT' // integrity_check failed, or a snapshot is damaged
  | 'JOURNAL_PROTOCOL' // the peer sent something the replication protocol forbids
  | 'JOURNAL_CLOSED' // the journal was closed
  | 'JOURNAL_CANCELED' // an AbortSignal ended the operation
  | 'JOURNAL_IO'; // SQLite or the file system failed; see `cause`

const templates: { [C in JournalErrorCode]: (detail: string) => string } = {
  JOURNAL_INVALID_ARGUMENT: (d) => `invalid argument: ${d}`,
  JOURNAL_NOT_LEADER: (d) => `this node is not the journal leader; ${d}`,
  JOURNAL_STALE_EPOCH: (d) => `stale epoch: ${d}`,
  JOURNAL_RECOVERING: (d) => `the journal is recovering and must resync from the peer first: ${d}`,
  JOURNAL_NO_CANDIDATE: (d) => `there is no candidate configuration to ${d}`,
  JOURNAL_NO_SUCH_VERSION: (d) => `no such configuration version: ${d}`,
  JOURNAL_VERSION_CONFLICT: (d) => `configuration changed underneath: ${d}`,
  JOURNAL_SCHEMA_TOO_NEW: (d) => `journal schema is newer than this firmware understands: ${d}`,
  JOURNAL_CORRUPT: (d) => `journal data is corrupt: ${d}`,
  JOURNAL_PROTOCOL: (d) => `replication protocol violation: ${d}`,
  JOURNAL_CLOSED: (d) => `the journal is closed: ${d}`,
  JOURNAL_CANCELED: (d) => `journal operation canceled: ${d}`,
  JOURNAL_IO: (d) => `journal I/O failed: ${d}`,
};

export class JournalError extends FirmwareError<JournalErrorCode> {
  override readonly name = 'JournalError';

  constructor(code: JournalErrorCode, detail: string, options: { cause?: unknown } = {}) {
    super(code, templates[code](detail), options);
  }

  static is(err: unknown, code?: JournalErrorCode): err is JournalError {
    return err instanceof JournalError && (code === undefined || err.code === code);
  }
}

/** Wraps a SQLite or file-system failure; a JournalError passes through unchanged. */
export function ioError(err: unknown, action: string): JournalError {
  if (err instanceof JournalError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  const sqliteCode = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  const corrupt = sqliteCode === 'SQLITE_CORRUPT' || sqliteCode === 'SQLITE_NOTADB';
  return new JournalError(corrupt ? 'JOURNAL_CORRUPT' : 'JOURNAL_IO', `${action}: ${detail}`, { cause: err });
}

/** The error for an aborted signal: its reason when that is an Error, else JOURNAL_CANCELED. */
export function canceled(signal: AbortSignal, what: string): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason;
  return new JournalError('JOURNAL_CANCELED', what, { cause: reason });
}
