import { JournalError } from './errors.ts';
import type {
  Change,
  ChangeMap,
  ClusterRole,
  EntryKind,
  EventLevel,
  HealthState,
  JsonValue,
} from './types.ts';
import { ENTRY_KINDS } from './types.ts';

/**
 * Shape checks for changes, whether they come from a local caller or from the peer's frames. Each failure
 * names the field and the value that arrived, so a bad change is refused with a message that says why.
 */

const MAX_TEXT = 4096;
const MAX_DOC_BYTES = 4 * 1024 * 1024;

function bad(field: string, expected: string, got: unknown): JournalError {
  const shown =
    typeof got === 'string'
      ? `"${got.slice(0, 80)}"`
      : typeof got === 'number'
        ? String(got)
        : String(JSON.stringify(got) ?? got);
  return new JournalError('JOURNAL_INVALID_ARGUMENT', `${field} should be ${expected}, instead got ${shown}`);
}

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(field, 'an object', v);
  return v as Record<string, unknown>;
}

export function text(v: unknown, field: string, options: { empty?: boolean } = {}): string {
  if (typeof v !== 'string' || v.length > MAX_TEXT || (!options.empty && v.length === 0)) {
    throw bad(field, `a ${options.empty ? '' : 'non-empty '}string of at most ${MAX_TEXT} characters`, v);
  }
  return v;
}

export function count(v: unknown, field: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw bad(field, `a whole number >= ${min}`, v);
  }
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw bad(field, 'true or false', v);
  return v;
}

function wallMs(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw bad(field, 'a wall-clock time in ms', v);
  return v;
}

function oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw bad(field, `one of ${allowed.join(', ')}`, v);
  }
  return v as T;
}

/** Throws unless `v` is plain JSON (finite numbers, no undefined, functions, cycles or class instances). */
export function json(v: unknown, field: string, depth = 0): JsonValue {
  if (depth > 64) throw bad(field, 'JSON nested at most 64 deep', '…');
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw bad(field, 'a finite number', v);
    return v;
  }
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      json(item, `${field}[${i}]`, depth + 1);
    });
    return v as JsonValue[];
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, item] of Object.entries(v)) json(item, `${field}.${k}`, depth + 1);
    return v as JsonValue;
  }
  throw bad(field, 'JSON (null, boolean, number, string, array or plain object)', typeof v);
}

export function configDoc(v: unknown, field: string): ChangeMap['config.commit']['doc'] {
  const doc = record(v, field);
  json(doc, field);
  const size = Buffer.byteLength(JSON.stringify(doc));
  if (size > MAX_DOC_BYTES) throw bad(field, `at most ${MAX_DOC_BYTES} bytes of JSON`, `${size} bytes`);
  return doc as ChangeMap['config.commit']['doc'];
}

const HEALTH: readonly HealthState[] = ['up', 'down', 'unknown'];
const ROLES: readonly ClusterRole[] = ['active', 'standby', 'offline'];
const LEVELS: readonly EventLevel[] = ['debug', 'info', 'warn', 'error', 'audit'];

type Checkers = { [K in EntryKind]: (v: Record<string, unknown>, f: string) => ChangeMap[K] };

const checkers: Checkers = {
  'journal.epoch': (v, f) => ({
    epoch: count(v.epoch, `${f}.epoch`, 1),
    leader: text(v.leader, `${f}.leader`),
  }),
  'config.candidate': (v, f) => ({
    doc: v.doc === null ? null : configDoc(v.doc, `${f}.doc`),
    baseVersion: count(v.baseVersion, `${f}.baseVersion`),
    author: text(v.author, `${f}.author`),
  }),
  'config.commit': (v, f) => ({
    version: count(v.version, `${f}.version`, 1),
    doc: configDoc(v.doc, `${f}.doc`),
    comment: text(v.comment, `${f}.comment`, { empty: true }),
    author: text(v.author, `${f}.author`),
    rollbackOf: v.rollbackOf === null ? null : count(v.rollbackOf, `${f}.rollbackOf`, 1),
    fromCandidate: bool(v.fromCandidate, `${f}.fromCandidate`),
  }),
  'health.set': (v, f) => ({
    server: text(v.server, `${f}.server`),
    state: oneOf(v.state, `${f}.state`, HEALTH),
    detail: text(v.detail, `${f}.detail`, { empty: true }),
    since: wallMs(v.since, `${f}.since`),
    ...(v.data === undefined ? {} : { data: json(v.data, `${f}.data`) }),
  }),
  'health.delete': (v, f) => ({ server: text(v.server, `${f}.server`) }),
  'sticky.set': (v, f) => ({
    service: text(v.service, `${f}.service`),
    client: text(v.client, `${f}.client`),
    server: text(v.server, `${f}.server`),
    expiresAt: wallMs(v.expiresAt, `${f}.expiresAt`),
  }),
  'sticky.delete': (v, f) => ({
    service: text(v.service, `${f}.service`),
    client: text(v.client, `${f}.client`),
  }),
  'sticky.expire': (v, f) => ({ before: wallMs(v.before, `${f}.before`) }),
  'cluster.role': (v, f) => ({ node: text(v.node, `${f}.node`), role: oneOf(v.role, `${f}.role`, ROLES) }),
  'cluster.peer': (v, f) => ({
    node: text(v.node, `${f}.node`),
    address: text(v.address, `${f}.address`, { empty: true }),
    state: text(v.state, `${f}.state`),
    seenAt: wallMs(v.seenAt, `${f}.seenAt`),
  }),
  'event.append': (v, f) => ({
    level: oneOf(v.level, `${f}.level`, LEVELS),
    source: text(v.source, `${f}.source`),
    message: text(v.message, `${f}.message`, { empty: true }),
    data: v.data === undefined ? null : json(v.data, `${f}.data`),
  }),
  'event.prune': (v, f) => ({ beforeSeq: count(v.beforeSeq, `${f}.beforeSeq`, 1) }),
};

/** Checks a change's kind and payload; returns a normalised copy or throws JOURNAL_INVALID_ARGUMENT. */
export function checkChange(kind: unknown, value: unknown, field = 'change'): Change {
  const k = oneOf(kind, `${field} kind`, ENTRY_KINDS);
  const body = record(value, field);
  return { kind: k, value: checkers[k](body, field) } as Change;
}
