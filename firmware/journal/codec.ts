import { createHmac, timingSafeEqual } from 'node:crypto';
import { JournalError } from './errors.ts';
import type { Entry, EpochRecord, ReplicationRole } from './types.ts';
import { checkChange } from './validate.ts';

/**
 * The replication wire codec: no socket, no state beyond a parser's partial tail.
 *
 *   0  u32  length of everything after this field
 *   4  u16  magic 0x544a ("TJ")
 *   6  u8   version (1)
 *   7  u8   type
 *   8  u32  epoch of the sender
 *  12  u64  seq (meaning per type; see Frame)
 *  20  u64  counter: this connection's frame number in this direction (replay window)
 *  28  …    body (JSON, or binary for snapshot chunks)
 *  end 32   HMAC-SHA256(cluster key, binding ‖ every byte before the MAC)
 *
 * The binding is empty for HELLO and the receiver's HELLO nonce for every other frame, so a frame
 * recorded on one connection fails authentication on any other. Encoding builds each frame in its own
 * buffers, so calls may interleave. Decoding never throws: it returns typed errors for the caller to count.
 */
export const MAGIC = 0x544a;
export const VERSION = 1;
export const HEADER_BYTES = 28;
export const MAC_BYTES = 32;
export const NONCE_BYTES = 16;
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
export const MIN_KEY_BYTES = 16;

const TYPE_CODES = {
  hello: 1,
  status: 2,
  entries: 3,
  ack: 4,
  snapBegin: 5,
  snapChunk: 6,
  snapEnd: 7,
  ping: 8,
  refuse: 9,
} as const;
export type FrameType = keyof typeof TYPE_CODES;
const TYPE_NAMES = new Map<number, FrameType>(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name as FrameType]),
);

interface Header {
  /** The sender's epoch (the newest it knows). */
  epoch: number;
  /** hello/status/ping: sender's head; entries: last seq carried; ack: acknowledged head;
   * snap*: the snapshot's head; refuse: 0. */
  seq: number;
}

export type Frame = Header &
  (
    | { type: 'hello'; node: string; nonce: string }
    | { type: 'status'; role: ReplicationRole; floor: number; recovering: boolean; history: EpochRecord[] }
    | { type: 'entries'; prevSeq: number; prevEpoch: number; entries: Entry[] }
    | {
        type: 'ack';
        gap: boolean;
        /** Epoch and leader of the entry at `seq` in the sender's log: what exactly is acknowledged. */
        headEpoch: number;
        headLeader: string;
      }
    | {
        type: 'snapBegin';
        size: number;
        sha256: string;
        /** Entries of the receiver after this seq are divergent and go to its conflict table. */
        conflictsAfter: number;
        leader: string;
      }
    | { type: 'snapChunk'; offset: number; data: Buffer }
    | { type: 'snapEnd' }
    | { type: 'ping' }
    | { type: 'refuse'; reason: string }
  );

export type DecodeErrorCode =
  | 'bad-magic' // not a journal frame: framing is lost
  | 'bad-version'
  | 'bad-length' // shorter than a header and a MAC
  | 'too-large' // longer than MAX_FRAME_BYTES
  | 'bad-mac' // forged, garbled, wrong key, or recorded on another connection
  | 'unknown-type'
  | 'bad-body'; // authenticated but malformed

export interface DecodeError {
  code: DecodeErrorCode;
  /** True when the byte stream cannot be trusted any further: the connection must be closed. */
  fatal: boolean;
  detail: string;
}

export type Decoded = { ok: true; frame: Frame; counter: number } | { ok: false; error: DecodeError };

export function checkKey(key: Buffer): Buffer {
  if (!Buffer.isBuffer(key) || key.length < MIN_KEY_BYTES) {
    throw new JournalError(
      'JOURNAL_INVALID_ARGUMENT',
      `cluster key should be at least ${MIN_KEY_BYTES} bytes, instead got ${Buffer.isBuffer(key) ? key.length : typeof key}`,
    );
  }
  return key;
}

function mac(key: Buffer, binding: Buffer, bytes: Buffer): Buffer {
  return createHmac('sha256', key).update(binding).update(bytes).digest();
}

const EMPTY = Buffer.alloc(0);

function bodyOf(frame: Frame): Buffer {
  switch (frame.type) {
    case 'hello':
      return Buffer.from(JSON.stringify({ node: frame.node, nonce: frame.nonce }));
    case 'status':
      return Buffer.from(
        JSON.stringify({
          role: frame.role,
          floor: frame.floor,
          recovering: frame.recovering,
          history: frame.history.map((r) => [r.epoch, r.leader, r.startSeq]),
        }),
      );
    case 'entries':
      return Buffer.from(
        JSON.stringify({
          prevSeq: frame.prevSeq,
          prevEpoch: frame.prevEpoch,
          entries: frame.entries.map((e) => [e.seq, e.epoch, e.kind, e.value, e.at]),
        }),
      );
    case 'ack':
      return Buffer.from(
        JSON.stringify({ gap: frame.gap, headEpoch: frame.headEpoch, headLeader: frame.headLeader }),
      );
    case 'snapBegin':
      return Buffer.from(
        JSON.stringify({
          size: frame.size,
          sha256: frame.sha256,
          conflictsAfter: frame.conflictsAfter,
          leader: frame.leader,
        }),
      );
    case 'snapChunk': {
      const head = Buffer.alloc(8);
      head.writeBigUInt64BE(BigInt(frame.offset));
      return Buffer.concat([head, frame.data]);
    }
    case 'snapEnd':
    case 'ping':
      return EMPTY;
    case 'refuse':
      return Buffer.from(JSON.stringify({ reason: frame.reason }));
  }
}

/** Serialises one frame. `binding` is the receiver's nonce (ignored for hello). */
export function encodeFrame(frame: Frame, auth: { key: Buffer; binding: Buffer; counter: number }): Buffer {
  const body = bodyOf(frame);
  const total = HEADER_BYTES + body.length + MAC_BYTES;
  if (total > MAX_FRAME_BYTES) {
    throw new JournalError(
      'JOURNAL_INVALID_ARGUMENT',
      `${frame.type} frame of ${total} bytes exceeds ${MAX_FRAME_BYTES}`,
    );
  }
  const out = Buffer.alloc(total);
  out.writeUInt32BE(total - 4, 0);
  out.writeUInt16BE(MAGIC, 4);
  out.writeUInt8(VERSION, 6);
  out.writeUInt8(TYPE_CODES[frame.type], 7);
  out.writeUInt32BE(frame.epoch, 8);
  out.writeBigUInt64BE(BigInt(frame.seq), 12);
  out.writeBigUInt64BE(BigInt(auth.counter), 20);
  body.copy(out, HEADER_BYTES);
  const binding = frame.type === 'hello' ? EMPTY : auth.binding;
  mac(auth.key, binding, out.subarray(0, total - MAC_BYTES)).copy(out, total - MAC_BYTES);
  return out;
}

/**
 * A byte-stream parser for one connection (pg-protocol style): `push` takes whatever the socket delivered
 * and returns every whole frame in it, keeping a partial tail for the next call. After a fatal error it
 * discards all further input.
 */
export class FrameParser {
  /** Bytes received but not yet parsed, kept as chunks so a large frame is copied once, when whole. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Total bytes the frame at the front needs, once its length is known. */
  private want = 0;
  private broken = false;

  constructor(
    private readonly key: Buffer,
    /** This end's nonce: the binding expected on every frame but hello. */
    private readonly localNonce: Buffer,
  ) {
    checkKey(key);
  }

  push(chunk: Buffer): Decoded[] {
    if (this.broken) return [];
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < Math.max(this.want, 6)) return [];
    const buf = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.want = 0;
    const out: Decoded[] = [];
    let at = 0;
    while (buf.length - at >= 4) {
      if (buf.length - at >= 6 && buf.readUInt16BE(at + 4) !== MAGIC) {
        out.push(this.fail('bad-magic', `0x${buf.readUInt16BE(at + 4).toString(16)}`));
        return out;
      }
      const length = buf.readUInt32BE(at);
      if (length + 4 > MAX_FRAME_BYTES || length < HEADER_BYTES - 4 + MAC_BYTES) {
        const code = length + 4 > MAX_FRAME_BYTES ? 'too-large' : 'bad-length';
        out.push(this.fail(code, `frame length ${length}`));
        return out;
      }
      if (buf.length - at < length + 4) {
        this.want = length + 4;
        break;
      }
      out.push(this.decodeOne(buf.subarray(at, at + length + 4)));
      if (this.broken) return out;
      at += length + 4;
    }
    if (at < buf.length) {
      const rest = Buffer.from(buf.subarray(at));
      this.pending = [rest];
      this.pendingBytes = rest.length;
    }
    return out;
  }

  private fail(code: DecodeErrorCode, detail: string): Decoded {
    this.broken = true;
    this.pending = [];
    this.pendingBytes = 0;
    return { ok: false, error: { code, fatal: true, detail } };
  }

  private decodeOne(bytes: Buffer): Decoded {
    const version = bytes.readUInt8(6);
    if (version !== VERSION) return this.fail('bad-version', `version ${version}, expected ${VERSION}`);
    const code = bytes.readUInt8(7);
    const type = TYPE_NAMES.get(code);
    const signed = bytes.subarray(0, bytes.length - MAC_BYTES);
    const expected = mac(this.key, type === 'hello' ? EMPTY : this.localNonce, signed);
    if (!timingSafeEqual(expected, bytes.subarray(bytes.length - MAC_BYTES))) {
      return {
        ok: false,
        error: { code: 'bad-mac', fatal: false, detail: `${type ?? `type ${code}`} frame` },
      };
    }
    if (type === undefined)
      return { ok: false, error: { code: 'unknown-type', fatal: false, detail: `type ${code}` } };
    const seq = bytes.readBigUInt64BE(12);
    const counter = bytes.readBigUInt64BE(20);
    if (seq > BigInt(Number.MAX_SAFE_INTEGER) || counter > BigInt(Number.MAX_SAFE_INTEGER)) {
      return { ok: false, error: { code: 'bad-body', fatal: false, detail: 'seq or counter beyond 2^53' } };
    }
    const header: Header = { epoch: bytes.readUInt32BE(8), seq: Number(seq) };
    try {
      const frame = decodeBody(type, header, bytes.subarray(HEADER_BYTES, bytes.length - MAC_BYTES));
      return { ok: true, frame, counter: Number(counter) };
    } catch (err) {
      const detail = `${type}: ${err instanceof Error ? err.message : String(err)}`;
      return { ok: false, error: { code: 'bad-body', fatal: false, detail } };
    }
  }
}

function obj(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError('body is not an object');
  return v as Record<string, unknown>;
}

function int(v: unknown, what: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw new TypeError(`${what} is not an integer`);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256)
    throw new TypeError(`${what} is not a short string`);
  return v;
}

function tuple(v: unknown, n: number, what: string): unknown[] {
  if (!Array.isArray(v) || v.length !== n) throw new TypeError(`${what} is not a ${n}-tuple`);
  return v;
}

function decodeBody(type: FrameType, h: Header, body: Buffer): Frame {
  if (type === 'snapChunk') {
    if (body.length < 8) throw new TypeError('chunk shorter than its offset');
    const offset = body.readBigUInt64BE(0);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new TypeError('offset beyond 2^53');
    return { ...h, type, offset: Number(offset), data: Buffer.from(body.subarray(8)) };
  }
  if (type === 'snapEnd' || type === 'ping') {
    if (body.length !== 0) throw new TypeError(`${type} carries no body`);
    return { ...h, type };
  }
  const b = obj(JSON.parse(body.toString('utf8')));
  switch (type) {
    case 'hello': {
      const nonce = str(b.nonce, 'nonce');
      if (!/^[0-9a-f]{32}$/.test(nonce)) throw new TypeError('nonce is not 16 hex bytes');
      return { ...h, type, node: str(b.node, 'node'), nonce };
    }
    case 'status': {
      if (b.role !== 'leader' && b.role !== 'follower') throw new TypeError('role is not leader or follower');
      if (typeof b.recovering !== 'boolean') throw new TypeError('recovering is not a boolean');
      if (!Array.isArray(b.history) || b.history.length > 100_000)
        throw new TypeError('history is not a list');
      const history = b.history.map((r: unknown, i: number) => {
        const [epoch, leader, startSeq] = tuple(r, 3, `history[${i}]`);
        return {
          epoch: int(epoch, 'epoch', 1),
          leader: str(leader, 'leader'),
          startSeq: int(startSeq, 'startSeq', 1),
        };
      });
      return { ...h, type, role: b.role, floor: int(b.floor, 'floor'), recovering: b.recovering, history };
    }
    case 'entries': {
      if (!Array.isArray(b.entries)) throw new TypeError('entries is not a list');
      const entries = b.entries.map((t: unknown, i: number): Entry => {
        const [seq, epoch, kind, value, at] = tuple(t, 5, `entries[${i}]`);
        if (typeof at !== 'number' || !Number.isFinite(at))
          throw new TypeError(`entries[${i}].at is not a time`);
        const change = checkChange(kind, value, `entries[${i}].value`);
        return { ...change, seq: int(seq, 'seq', 1), epoch: int(epoch, 'epoch', 1), at } as Entry;
      });
      return {
        ...h,
        type,
        prevSeq: int(b.prevSeq, 'prevSeq'),
        prevEpoch: int(b.prevEpoch, 'prevEpoch'),
        entries,
      };
    }
    case 'ack':
      if (typeof b.gap !== 'boolean') throw new TypeError('gap is not a boolean');
      if (typeof b.headLeader !== 'string' || b.headLeader.length > 256)
        throw new TypeError('headLeader is not a string');
      return { ...h, type, gap: b.gap, headEpoch: int(b.headEpoch, 'headEpoch'), headLeader: b.headLeader };
    case 'snapBegin': {
      const sha256 = str(b.sha256, 'sha256');
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw new TypeError('sha256 is not 32 hex bytes');
      return {
        ...h,
        type,
        size: int(b.size, 'size'),
        sha256,
        conflictsAfter: int(b.conflictsAfter, 'conflictsAfter'),
        leader: str(b.leader, 'leader'),
      };
    }
    case 'refuse':
      return { ...h, type, reason: str(b.reason, 'reason') };
  }
}
