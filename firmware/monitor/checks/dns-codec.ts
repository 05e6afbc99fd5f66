/**
 * A small DNS message codec (RFC 1035, with AAAA from RFC 3596): enough to build a query, read an answer
 * (name compression included) and, for test servers, build an answer. No sockets. Malformed input is a
 * typed decode failure, never an exception.
 */

export const RECORD_TYPES = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
} as const;
export type RecordType = keyof typeof RECORD_TYPES;
export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'] as const;
export type RcodeName = (typeof RCODES)[number];

const CLASS_IN = 1;
const NAME_MAX = 255;

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** The record's data as text: an address, a name, "10 mx.example.", TXT strings joined with spaces, or hex. */
  data: string;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  opcode: number;
  authoritative: boolean;
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  rcode: number;
  questions: Question[];
  answers: ResourceRecord[];
}

export type DecodeResult = { ok: true; message: DnsMessage } | { ok: false; error: string };

export function typeName(type: number): string {
  for (const [name, value] of Object.entries(RECORD_TYPES)) if (value === type) return name;
  return `TYPE${type}`;
}

export function rcodeName(rcode: number): string {
  return RCODES[rcode] ?? `RCODE${rcode}`;
}

/** A DNS name as wire labels. Throws RangeError for a label over 63 bytes or a name over 255. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const parts: Buffer[] = [];
  if (trimmed !== '') {
    for (const label of trimmed.split('.')) {
      const bytes = Buffer.from(label, 'ascii');
      if (bytes.length === 0 || bytes.length > 63)
        throw new RangeError(`DNS label "${label}" must be 1..63 bytes`);
      parts.push(Buffer.from([bytes.length]), bytes);
    }
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > NAME_MAX) throw new RangeError(`DNS name "${name}" is longer than ${NAME_MAX} bytes`);
  return out;
}

function header(id: number, flags: number, counts: [number, number, number, number]): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(flags, 2);
  counts.forEach((c, i) => {
    b.writeUInt16BE(c, 4 + i * 2);
  });
  return b;
}

function questionBytes(q: Question): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(q.type, 0);
  tail.writeUInt16BE(q.class, 2);
  return Buffer.concat([encodeName(q.name), tail]);
}

export function encodeQuery(query: {
  id: number;
  name: string;
  type: number;
  recursionDesired: boolean;
}): Buffer {
  const flags = query.recursionDesired ? 0x0100 : 0;
  return Buffer.concat([
    header(query.id, flags, [1, 0, 0, 0]),
    questionBytes({ name: query.name, type: query.type, class: CLASS_IN }),
  ]);
}

/** Record data from its text form (the inverse of what decode shows), for the types a test server needs. */
function rdataBytes(type: number, data: string): Buffer {
  if (type === RECORD_TYPES.A) return Buffer.from(data.split('.').map(Number));
  if (type === RECORD_TYPES.AAAA) return ipv6Bytes(data);
  if (type === RECORD_TYPES.CNAME || type === RECORD_TYPES.NS || type === RECORD_TYPES.PTR)
    return encodeName(data);
  if (type === RECORD_TYPES.MX) {
    const [pref, name] = data.split(' ') as [string, string];
    const p = Buffer.alloc(2);
    p.writeUInt16BE(Number(pref), 0);
    return Buffer.concat([p, encodeName(name)]);
  }
  if (type === RECORD_TYPES.TXT) {
    const s = Buffer.from(data, 'utf8').subarray(0, 255);
    return Buffer.concat([Buffer.from([s.length]), s]);
  }
  return Buffer.from(data, 'hex');
}

function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const words = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => Number.parseInt(w, 16)));
  const h = words(head);
  const t = tail === undefined ? [] : words(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const b = Buffer.alloc(16);
  all.forEach((w, i) => {
    b.writeUInt16BE(w & 0xffff, i * 2);
  });
  return b;
}

/** An answer to `query` (for test servers): flags QR, RD copied, RA set, AA set. */
export function encodeResponse(
  query: DnsMessage,
  answer: { rcode: number; records: { name: string; type: number; ttl: number; data: string }[] },
): Buffer {
  const flags = 0x8000 | 0x0400 | (query.recursionDesired ? 0x0100 : 0) | 0x0080 | (answer.rcode & 0xf);
  const parts = [header(query.id, flags, [query.questions.length, answer.records.length, 0, 0])];
  for (const q of query.questions) parts.push(questionBytes(q));
  for (const r of answer.records) {
    const rdata = rdataBytes(r.type, r.data);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(r.type, 0);
    fixed.writeUInt16BE(CLASS_IN, 2);
    fixed.writeUInt32BE(r.ttl >>> 0, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    parts.push(encodeName(r.name), fixed, rdata);
  }
  return Buffer.concat(parts);
}

class Truncated extends Error {}

/** Reads a possibly compressed name at `offset`; returns it (no trailing dot, '.' for the root) and the end. */
function readName(buf: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  let end: number | undefined;
  let jumps = 0;
  let total = 0;
  for (;;) {
    if (at >= buf.length) throw new Truncated('name runs past the end');
    const len = buf[at] as number;
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= buf.length) throw new Truncated('compression pointer runs past the end');
      if (++jumps > 64) throw new Truncated('compression pointers loop');
      end ??= at + 2;
      at = ((len & 0x3f) << 8) | (buf[at + 1] as number);
      continue;
    }
    if ((len & 0xc0) !== 0) throw new Truncated(`bad label length byte 0x${len.toString(16)}`);
    if (len === 0) {
      end ??= at + 1;
      break;
    }
    if (at + 1 + len > buf.length) throw new Truncated('label runs past the end');
    total += len + 1;
    if (total > NAME_MAX) throw new Truncated('name longer than 255 bytes');
    labels.push(buf.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
  return { name: labels.length === 0 ? '.' : labels.join('.'), end };
}

function rdataText(buf: Buffer, type: number, start: number, length: number): string {
  const data = buf.subarray(start, start + length);
  switch (type) {
    case RECORD_TYPES.A:
      if (length !== 4) throw new Truncated(`A record of ${length} bytes`);
      return [...data].join('.');
    case RECORD_TYPES.AAAA: {
      if (length !== 16) throw new Truncated(`AAAA record of ${length} bytes`);
      const words: string[] = [];
      for (let i = 0; i < 16; i += 2) words.push(data.readUInt16BE(i).toString(16));
      return compressV6(words);
    }
    case RECORD_TYPES.CNAME:
    case RECORD_TYPES.NS:
    case RECORD_TYPES.PTR:
      return readName(buf, start).name;
    case RECORD_TYPES.MX:
      if (length < 3) throw new Truncated('MX record too short');
      return `${data.readUInt16BE(0)} ${readName(buf, start + 2).name}`;
    case RECORD_TYPES.TXT: {
      const strings: string[] = [];
      for (let i = 0; i < length; ) {
        const n = data[i] as number;
        if (i + 1 + n > length) throw new Truncated('TXT string runs past its record');
        strings.push(data.toString('utf8', i + 1, i + 1 + n));
        i += 1 + n;
      }
      return strings.join(' ');
    }
    case RECORD_TYPES.SOA: {
      const m = readName(buf, start);
      const r = readName(buf, m.end);
      if (r.end + 20 > start + length) throw new Truncated('SOA record too short');
      const serial = buf.readUInt32BE(r.end);
      return `${m.name} ${r.name} ${serial}`;
    }
    default:
      return data.toString('hex');
  }
}

/** RFC 5952 text of eight hex words. */
function compressV6(words: string[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return words.join(':');
  return `${words.slice(0, bestStart).join(':')}::${words.slice(bestStart + bestLen).join(':')}`;
}

export function decodeMessage(buf: Buffer): DecodeResult {
  try {
    if (buf.length < 12) throw new Truncated(`message of ${buf.length} bytes is shorter than a header`);
    const flags = buf.readUInt16BE(2);
    const qd = buf.readUInt16BE(4);
    const an = buf.readUInt16BE(6);
    let at = 12;
    const questions: Question[] = [];
    for (let i = 0; i < qd; i++) {
      const { name, end } = readName(buf, at);
      if (end + 4 > buf.length) throw new Truncated('question runs past the end');
      questions.push({ name, type: buf.readUInt16BE(end), class: buf.readUInt16BE(end + 2) });
      at = end + 4;
    }
    const answers: ResourceRecord[] = [];
    for (let i = 0; i < an; i++) {
      const { name, end } = readName(buf, at);
      if (end + 10 > buf.length) throw new Truncated('answer runs past the end');
      const type = buf.readUInt16BE(end);
      const rdlength = buf.readUInt16BE(end + 8);
      const start = end + 10;
      if (start + rdlength > buf.length) throw new Truncated('answer data runs past the end');
      answers.push({
        name,
        type,
        class: buf.readUInt16BE(end + 2),
        ttl: buf.readUInt32BE(end + 4),
        data: rdataText(buf, type, start, rdlength),
      });
      at = start + rdlength;
    }
    return {
      ok: true,
      message: {
        id: buf.readUInt16BE(0),
        response: (flags & 0x8000) !== 0,
        opcode: (flags >> 11) & 0xf,
        authoritative: (flags & 0x0400) !== 0,
        truncated: (flags & 0x0200) !== 0,
        recursionDesired: (flags & 0x0100) !== 0,
        recursionAvailable: (flags & 0x0080) !== 0,
        rcode: flags & 0xf,
        questions,
        answers,
      },
    };
  } catch (err) {
    if (err instanceof Truncated || err instanceof RangeError) return { ok: false, error: err.message };
    throw err;
  }
}
