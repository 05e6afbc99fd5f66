/**
 * The heartbeat wire format, without a socket (pg-protocol's parser/serializer shape). One frame:
 *
 *   magic 'TD' (2) | version (1) | type (1) | payload length (u16 BE) | payload | HMAC-SHA256 (32) | CRC-32 (4)
 *
 * The HMAC (cluster key) covers header and payload; the CRC covers everything before it and is checked
 * first, so line noise is told apart from a forged or foreign frame. The serial cable carries a byte
 * stream: `FrameParser` keeps a partial tail between pushes and resynchronises after garbage by scanning
 * for the magic. A UDP datagram carries one frame: `decodeDatagram`. Input never makes these throw: each
 * problem comes back as a typed decode error for the shell to count.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 } from './crc32.ts';
import { ClusterError } from './errors.ts';
import type { Heartbeat, WireRole } from './types.ts';

export const MAGIC = [0x54, 0x44] as const;
export const VERSION = 1;
export const TYPE_HEARTBEAT = 1;
export const HEADER_BYTES = 6;
export const HEARTBEAT_PAYLOAD_BYTES = 28;
export const MAC_BYTES = 32;
export const CRC_BYTES = 4;
/** Longest payload any version may declare; bounds how long a corrupted length can stall the stream. */
export const MAX_PAYLOAD_BYTES = 64;
export const HEARTBEAT_FRAME_BYTES = HEADER_BYTES + HEARTBEAT_PAYLOAD_BYTES + MAC_BYTES + CRC_BYTES;
export const MIN_KEY_BYTES = 16;

const MAX_U48 = 2 ** 48 - 1;
const MAX_U32 = 2 ** 32 - 1;

const roleCodes: Record<WireRole, number> = {
  INIT: 1,
  STANDBY: 2,
  ACTIVE: 3,
  MAINTENANCE: 4,
  FAULT: 5,
  STOPPED: 6,
};
const rolesByCode: readonly (WireRole | undefined)[] = [
  undefined,
  'INIT',
  'STANDBY',
  'ACTIVE',
  'MAINTENANCE',
  'FAULT',
  'STOPPED',
];

const FLAG_YIELD = 1;
const FLAG_LEAVING = 2;
const FLAG_WANT_ACTIVE = 4;
const FLAGS_KNOWN = FLAG_YIELD | FLAG_LEAVING | FLAG_WANT_ACTIVE;

export type DecodeErrorKind =
  | 'garbage'
  | 'bad-length'
  | 'bad-version'
  | 'bad-crc'
  | 'bad-mac'
  | 'bad-payload';

export interface DecodeError {
  readonly kind: DecodeErrorKind;
  /** How many input bytes this error accounts for (skipped or rejected). */
  readonly bytes: number;
  readonly detail: string;
}

export interface DecodeResult {
  readonly frames: Heartbeat[];
  readonly errors: DecodeError[];
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length < MIN_KEY_BYTES) {
    const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
    throw new ClusterError('CLUSTER_INVALID_KEY', `need at least ${MIN_KEY_BYTES} bytes, got ${got}`);
  }
}

function mac(key: Uint8Array, bytes: Uint8Array): Buffer {
  return createHmac('sha256', key).update(bytes).digest();
}

function field(name: string, value: unknown, ok: boolean, expected: string): void {
  if (!ok)
    throw new ClusterError('CLUSTER_INVALID_FRAME', `${name} should be ${expected}, got ${String(value)}`);
}

const isInt = (v: unknown, min: number, max: number): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Builds one frame. Throws CLUSTER_INVALID_FRAME when a field is out of range (a caller bug). */
export function encodeHeartbeat(hb: Heartbeat, key: Uint8Array): Buffer {
  checkKey(key);
  field('nodeId', hb.nodeId, isInt(hb.nodeId, 0, 0xffff), 'an integer 0..65535');
  field('boot', hb.boot, isInt(hb.boot, 0, MAX_U32), 'a u32');
  field('seq', hb.seq, isInt(hb.seq, 0, MAX_U48), 'a u48');
  field('epoch', hb.epoch, isInt(hb.epoch, 0, MAX_U32), 'a u32');
  field('role', hb.role, Object.hasOwn(roleCodes, hb.role), 'a wire role');
  field('priority', hb.priority, isInt(hb.priority, 1, 255), 'an integer 1..255');
  field('health', hb.health, isInt(hb.health, 0, 100), 'an integer 0..100');
  field('sentAt', hb.sentAt, Number.isFinite(hb.sentAt) && hb.sentAt >= 0, 'a finite number >= 0');
  const frame = Buffer.alloc(HEARTBEAT_FRAME_BYTES);
  frame[0] = MAGIC[0];
  frame[1] = MAGIC[1];
  frame[2] = VERSION;
  frame[3] = TYPE_HEARTBEAT;
  frame.writeUInt16BE(HEARTBEAT_PAYLOAD_BYTES, 4);
  const p = HEADER_BYTES;
  frame.writeUInt16BE(hb.nodeId, p);
  frame.writeUInt32BE(hb.boot, p + 2);
  frame.writeUIntBE(hb.seq, p + 6, 6);
  frame.writeUInt32BE(hb.epoch, p + 12);
  frame[p + 16] = roleCodes[hb.role];
  frame[p + 17] = hb.priority;
  frame[p + 18] = hb.health;
  frame[p + 19] =
    (hb.flags.yield ? FLAG_YIELD : 0) |
    (hb.flags.leaving ? FLAG_LEAVING : 0) |
    (hb.flags.wantActive ? FLAG_WANT_ACTIVE : 0);
  frame.writeDoubleBE(hb.sentAt, p + 20);
  const macAt = p + HEARTBEAT_PAYLOAD_BYTES;
  mac(key, frame.subarray(0, macAt)).copy(frame, macAt);
  frame.writeUInt32BE(crc32(frame, 0, macAt + MAC_BYTES), macAt + MAC_BYTES);
  return frame;
}

/** Decodes an authenticated heartbeat payload; a string says what is wrong. */
function decodeHeartbeatPayload(b: Buffer, p: number): Heartbeat | string {
  const role = rolesByCode[b[p + 16] as number];
  if (role === undefined) return `unknown role code ${b[p + 16]}`;
  const priority = b[p + 17] as number;
  if (priority < 1) return 'priority 0';
  const health = b[p + 18] as number;
  if (health > 100) return `health ${health} above 100`;
  const flags = b[p + 19] as number;
  if ((flags & ~FLAGS_KNOWN) !== 0) return `unknown flag bits 0x${flags.toString(16)}`;
  const sentAt = b.readDoubleBE(p + 20);
  if (!Number.isFinite(sentAt) || sentAt < 0) return `sentAt ${sentAt}`;
  return {
    nodeId: b.readUInt16BE(p),
    boot: b.readUInt32BE(p + 2),
    seq: b.readUIntBE(p + 6, 6),
    epoch: b.readUInt32BE(p + 12),
    role,
    priority,
    health,
    flags: {
      yield: (flags & FLAG_YIELD) !== 0,
      leaving: (flags & FLAG_LEAVING) !== 0,
      wantActive: (flags & FLAG_WANT_ACTIVE) !== 0,
    },
    sentAt,
  };
}

/**
 * A byte-stream decoder, one per link. `push` returns every whole frame and every error found so far;
 * a partial frame waits for the next push (at most one maximal frame is kept).
 */
export class FrameParser {
  private readonly key: Uint8Array;
  private tail: Buffer = Buffer.alloc(0);

  constructor(key: Uint8Array) {
    checkKey(key);
    this.key = key;
  }

  /** Bytes kept from earlier pushes, waiting for the rest of a frame. */
  get buffered(): number {
    return this.tail.length;
  }

  push(bytes: Uint8Array): DecodeResult {
    const buf = this.tail.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.tail, bytes]);
    const frames: Heartbeat[] = [];
    const errors: DecodeError[] = [];
    let pos = 0;
    let garbage = 0;
    // After a frame-level error the scan restarts one byte on; the bytes skipped until the next magic
    // belong to that error rather than being reported again as garbage.
    let resync: { kind: DecodeErrorKind; bytes: number; detail: string } | undefined;
    const flushGarbage = (): void => {
      if (resync) {
        errors.push(resync);
        resync = undefined;
      } else if (garbage > 0) {
        errors.push({ kind: 'garbage', bytes: garbage, detail: `${garbage} bytes before a frame start` });
      }
      garbage = 0;
    };
    const skip = (kind: DecodeErrorKind, detail: string): void => {
      flushGarbage();
      resync = { kind, bytes: 1, detail };
      pos += 1;
    };
    const reject = (kind: DecodeErrorKind, total: number, detail: string): void => {
      flushGarbage();
      errors.push({ kind, bytes: total, detail });
      pos += total;
    };
    let keepFrom = buf.length;
    while (pos < buf.length) {
      if (buf[pos] !== MAGIC[0] || (pos + 1 < buf.length && buf[pos + 1] !== MAGIC[1])) {
        if (resync) resync.bytes += 1;
        else garbage += 1;
        pos += 1;
        continue;
      }
      if (buf.length - pos < HEADER_BYTES) {
        keepFrom = pos;
        break;
      }
      const version = buf[pos + 2] as number;
      const type = buf[pos + 3] as number;
      const length = buf.readUInt16BE(pos + 4);
      if (length > MAX_PAYLOAD_BYTES) {
        skip('bad-length', `declared payload of ${length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
        continue;
      }
      if (version === VERSION && type === TYPE_HEARTBEAT && length !== HEARTBEAT_PAYLOAD_BYTES) {
        skip('bad-length', `heartbeat payload of ${length} bytes, expected ${HEARTBEAT_PAYLOAD_BYTES}`);
        continue;
      }
      const total = HEADER_BYTES + length + MAC_BYTES + CRC_BYTES;
      if (buf.length - pos < total) {
        keepFrom = pos;
        break;
      }
      const crcAt = pos + total - CRC_BYTES;
      if (crc32(buf, pos, crcAt) !== buf.readUInt32BE(crcAt)) {
        skip('bad-crc', `CRC mismatch in a ${total}-byte frame`);
        continue;
      }
      if (version !== VERSION) {
        reject('bad-version', total, `version ${version}, this node speaks ${VERSION}`);
        continue;
      }
      const macAt = pos + HEADER_BYTES + length;
      const expected = mac(this.key, buf.subarray(pos, macAt));
      if (!timingSafeEqual(expected, buf.subarray(macAt, macAt + MAC_BYTES))) {
        reject('bad-mac', total, 'HMAC mismatch (wrong cluster key or forged frame)');
        continue;
      }
      if (type !== TYPE_HEARTBEAT) {
        reject('bad-payload', total, `unknown frame type ${type}`);
        continue;
      }
      const hb = decodeHeartbeatPayload(buf, pos + HEADER_BYTES);
      if (typeof hb === 'string') {
        reject('bad-payload', total, hb);
        continue;
      }
      flushGarbage();
      frames.push(hb);
      pos += total;
    }
    flushGarbage();
    this.tail = keepFrom < buf.length ? Buffer.from(buf.subarray(keepFrom)) : Buffer.alloc(0);
    return { frames, errors };
  }

  /** Ends the stream: a kept partial frame is reported as truncated and dropped. */
  end(): DecodeError[] {
    const n = this.tail.length;
    this.tail = Buffer.alloc(0);
    return n === 0
      ? []
      : [{ kind: 'bad-length', bytes: n, detail: `truncated frame: ${n} bytes at the end` }];
  }
}

/** Decodes one UDP datagram, which should hold exactly one frame. */
export function decodeDatagram(bytes: Uint8Array, key: Uint8Array): DecodeResult {
  const parser = new FrameParser(key);
  const { frames, errors } = parser.push(bytes);
  return { frames, errors: [...errors, ...parser.end()] };
}
