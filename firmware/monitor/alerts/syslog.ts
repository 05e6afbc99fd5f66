/**
 * RFC 5424 syslog messages: a pure formatter. Header fields are cut to their maximum lengths and any
 * character outside printable US-ASCII becomes '?'; structured-data values escape '"', '\' and ']'; a
 * message with non-ASCII text starts with the UTF-8 BOM, as the RFC asks. The whole message is kept
 * within `maxBytes` (RFC 5426: a UDP receiver must take 480 bytes, should take 2048) by cutting MSG.
 */

export const SEVERITY = {
  emerg: 0,
  alert: 1,
  crit: 2,
  err: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
} as const;
export type Severity = keyof typeof SEVERITY;

export interface SdElement {
  /** An SD-ID: a registered name or `name@<private enterprise number>`. */
  readonly id: string;
  readonly params: Readonly<Record<string, string>>;
}

export interface SyslogMessage {
  /** 0..23. */
  readonly facility: number;
  readonly severity: Severity;
  /** Wall-clock milliseconds since the epoch. */
  readonly time: number;
  readonly hostname?: string | undefined;
  readonly appName?: string | undefined;
  readonly procId?: string | undefined;
  readonly msgId?: string | undefined;
  readonly structuredData?: readonly SdElement[];
  readonly message?: string | undefined;
}

const NIL = '-';
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** A header field: printable US-ASCII (33..126) only, at most `max` characters; NILVALUE when empty. */
function headerField(value: string | undefined, max: number): string {
  if (value === undefined || value === '') return NIL;
  const clean = value.replace(/[^\x21-\x7e]/g, '?');
  return clean.slice(0, max);
}

/** An SD-NAME: printable US-ASCII except '=', ' ', ']', '"', at most 32 characters. */
function sdName(value: string): string {
  const clean = value.replace(/[^\x21-\x7e]|[=\]"]/g, '_').slice(0, 32);
  return clean === '' ? '_' : clean;
}

function sdValue(value: string): string {
  return value.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

function sdId(id: string): string {
  // The part after '@' is a number; keep the whole ID within the SD-NAME rules.
  return sdName(id);
}

export function formatStructuredData(elements: readonly SdElement[] | undefined): string {
  if (elements === undefined || elements.length === 0) return NIL;
  return elements
    .map((e) => {
      const params = Object.entries(e.params).map(([k, v]) => ` ${sdName(k)}="${sdValue(v)}"`);
      return `[${sdId(e.id)}${params.join('')}]`;
    })
    .join('');
}

export function formatSyslog(m: SyslogMessage, maxBytes = 2048): Buffer {
  if (!Number.isInteger(m.facility) || m.facility < 0 || m.facility > 23) {
    throw new RangeError(`syslog facility must be an integer 0..23, got ${m.facility}`);
  }
  const pri = m.facility * 8 + SEVERITY[m.severity];
  const timestamp = Number.isFinite(m.time) ? new Date(m.time).toISOString() : NIL;
  const header = [
    `<${pri}>1`,
    timestamp,
    headerField(m.hostname, 255),
    headerField(m.appName, 48),
    headerField(m.procId, 128),
    headerField(m.msgId, 32),
  ].join(' ');
  const head = Buffer.from(`${header} ${formatStructuredData(m.structuredData)}`, 'utf8');
  if (m.message === undefined || m.message === '') return head.subarray(0, maxBytes);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII test
  const ascii = /^[\x00-\x7f]*$/.test(m.message);
  const body = Buffer.from(m.message, 'utf8');
  const prefix = ascii ? Buffer.from(' ') : Buffer.concat([Buffer.from(' '), BOM]);
  const room = maxBytes - head.length - prefix.length;
  if (room <= 0) return head.subarray(0, maxBytes);
  return Buffer.concat([head, prefix, cutUtf8(body, room)]);
}

/** At most `max` bytes of `buf` without splitting a UTF-8 sequence. */
function cutUtf8(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let end = max;
  while (end > 0 && ((buf[end] as number) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}
