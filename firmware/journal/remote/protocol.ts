/**
 * The journal access socket's wire format: one JSON object per line (`\n`), both ways.
 *
 * Client → server: `{ id, op, args }` where `op` is a write method (`health.set`, `config.commit`, …,
 * see WRITE_METHODS), `subscribe` (args `[sub, { afterSeq, kinds }]`), `unsubscribe` (`[sub]`) or
 * `status`. Every request is answered by `{ id, ok: value }` or `{ id, error: { code, message } }` with
 * the journal's own error code and message. A line that is not a request (garbage, over-long, unknown op)
 * is answered with `{ id: <its id or null>, error }` and the connection stays usable.
 *
 * Server → client, unasked: `{ hello }` first (node, recovery, journal file, status), `{ status }` when
 * the replication status changes, `{ sub, item }` for each change-feed item of a subscription.
 */
import { JournalError, type JournalErrorCode } from '../errors.ts';

export const PROTOCOL_VERSION = 1;

/** Default longest line either side accepts (a configuration document fits easily). */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

export const WRITE_METHODS = [
  'config.edit',
  'config.discard',
  'config.commit',
  'config.rollback',
  'health.set',
  'health.delete',
  'sticky.set',
  'sticky.delete',
  'sticky.sweep',
  'events.append',
] as const;
export type WriteMethod = (typeof WRITE_METHODS)[number];
export type Op = WriteMethod | 'subscribe' | 'unsubscribe' | 'status';

export interface Request {
  id: number;
  op: Op;
  args: unknown[];
}

export interface WireError {
  code: JournalErrorCode;
  message: string;
}

const CODES: ReadonlySet<string> = new Set<JournalErrorCode>([
  'JOURNAL_INVALID_ARGUMENT',
  'JOURNAL_NOT_LEADER',
  'JOURNAL_STALE_EPOCH',
  'JOURNAL_RECOVERING',
  'JOURNAL_NO_CANDIDATE',
  'JOURNAL_NO_SUCH_VERSION',
  'JOURNAL_VERSION_CONFLICT',
  'JOURNAL_SCHEMA_TOO_NEW',
  'JOURNAL_CORRUPT',
  'JOURNAL_PROTOCOL',
  'JOURNAL_CLOSED',
  'JOURNAL_CANCELED',
  'JOURNAL_IO',
]);

/** What an error looks like on the wire: a JournalError keeps its code and message. */
export function toWire(err: unknown): WireError {
  if (err instanceof JournalError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  // The methods validate their values; a TypeError here comes from a request of the wrong shape.
  if (err instanceof TypeError || err instanceof RangeError) {
    return { code: 'JOURNAL_INVALID_ARGUMENT', message: `invalid argument: ${message}` };
  }
  return { code: 'JOURNAL_IO', message: `journal I/O failed: ${message}` };
}

/** The same JournalError the server's journal threw: same code, same message. */
export function fromWire(error: unknown): JournalError {
  const e = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const code = typeof e.code === 'string' && CODES.has(e.code) ? (e.code as JournalErrorCode) : 'JOURNAL_IO';
  const err = new JournalError(code, '');
  err.message = typeof e.message === 'string' ? e.message : `journal I/O failed: ${JSON.stringify(error)}`;
  return err;
}

/** Parses one request line; throws JOURNAL_INVALID_ARGUMENT naming what is wrong (with the id, if any). */
export function parseRequest(line: string): Request {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new BadRequest(null, `not JSON: ${preview(line)}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new BadRequest(null, `a request is an object, got ${preview(line)}`);
  }
  const r = v as Record<string, unknown>;
  const id = typeof r.id === 'number' && Number.isSafeInteger(r.id) ? r.id : null;
  if (id === null) throw new BadRequest(null, `request id must be an integer, got ${preview(String(r.id))}`);
  const op = r.op;
  const known =
    typeof op === 'string' &&
    ((WRITE_METHODS as readonly string[]).includes(op) ||
      op === 'subscribe' ||
      op === 'unsubscribe' ||
      op === 'status');
  if (!known) throw new BadRequest(id, `unknown op ${preview(JSON.stringify(op) ?? 'undefined')}`);
  const args = r.args ?? [];
  if (!Array.isArray(args)) throw new BadRequest(id, `args of ${op} must be an array`);
  return { id, op: op as Op, args };
}

export class BadRequest extends JournalError {
  constructor(
    readonly id: number | null,
    detail: string,
  ) {
    super('JOURNAL_INVALID_ARGUMENT', `journal socket request: ${detail}`);
  }
}

function preview(s: string): string {
  return s.length > 80 ? `${JSON.stringify(s.slice(0, 80))}…` : JSON.stringify(s);
}

/**
 * Splits a byte stream into lines. A line longer than `maxBytes` is reported once (`onOverlong`) and
 * skipped up to its newline; the bytes around it are unaffected.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverlong: (bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(0x0a, from);
      const end = nl < 0 ? chunk.length : nl;
      if (!this.skipping) {
        this.parts.push(chunk.subarray(from, end));
        this.size += end - from;
        if (this.size > this.maxBytes) {
          this.skipping = true;
          this.onOverlong(this.size);
          this.parts = [];
          this.size = 0;
        }
      }
      if (nl < 0) return;
      from = nl + 1;
      if (this.skipping) this.skipping = false;
      else {
        const line = Buffer.concat(this.parts).toString('utf8');
        this.parts = [];
        this.size = 0;
        if (line.trim() !== '') this.onLine(line);
      }
    }
  }
}
