import { createHmac } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeDatagram,
  encodeHeartbeat,
  FrameParser,
  HEADER_BYTES,
  HEARTBEAT_FRAME_BYTES,
  MAC_BYTES,
} from '../../firmware/cluster/codec.ts';
import { crc32 } from '../../firmware/cluster/crc32.ts';
import { ClusterError } from '../../firmware/cluster/errors.ts';
import type { Heartbeat } from '../../firmware/cluster/types.ts';
import { Rng } from '../../hal/sim/rng.ts';

const key = Buffer.alloc(32, 7);
const otherKey = Buffer.alloc(32, 8);

const hb = (over: Partial<Heartbeat> = {}): Heartbeat => ({
  nodeId: 513,
  boot: 7,
  seq: 2 ** 40 + 3,
  epoch: 12,
  role: 'ACTIVE',
  priority: 200,
  health: 97,
  flags: { yield: true, leaving: false, wantActive: true },
  sentAt: 123456.789,
  ...over,
});

const kinds = (r: { errors: { kind: string }[] }): string[] => r.errors.map((e) => e.kind);

/** Re-signs and re-checksums a frame after its header or payload was edited. */
function reseal(frame: Buffer, withKey: Uint8Array): Buffer {
  const out = Buffer.from(frame);
  const macAt = out.length - MAC_BYTES - 4;
  createHmac('sha256', withKey).update(out.subarray(0, macAt)).digest().copy(out, macAt);
  out.writeUInt32BE(crc32(out, 0, out.length - 4), out.length - 4);
  return out;
}

// ---

const crc = suite('crc32');

crc('matches the IEEE check value', () => {
  assert.is(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.is(crc32(Buffer.alloc(0)), 0);
});

crc.run();

// ---

const encode = suite('encodeHeartbeat');

encode('round trips every field through the parser', () => {
  for (const role of ['INIT', 'STANDBY', 'ACTIVE', 'MAINTENANCE', 'FAULT', 'STOPPED'] as const) {
    const original = hb({ role, flags: { yield: false, leaving: role === 'STOPPED', wantActive: false } });
    const frame = encodeHeartbeat(original, key);
    assert.is(frame.length, HEARTBEAT_FRAME_BYTES);
    const r = new FrameParser(key).push(frame);
    assert.equal(r.errors, []);
    assert.equal(r.frames, [original]);
  }
});

encode('each call builds its own buffer (re-entrant)', () => {
  const a = encodeHeartbeat(hb({ seq: 1 }), key);
  const b = encodeHeartbeat(hb({ seq: 2 }), key);
  assert.is.not(a.buffer === b.buffer && a.byteOffset === b.byteOffset, true);
  assert.equal(decodeDatagram(a, key).frames[0]?.seq, 1);
});

encode('a field out of range throws CLUSTER_INVALID_FRAME naming it', () => {
  const bad: [Partial<Heartbeat>, string][] = [
    [{ nodeId: 70000 }, 'nodeId'],
    [{ priority: 0 }, 'priority'],
    [{ health: 101 }, 'health'],
    [{ seq: -1 }, 'seq'],
    [{ epoch: 1.5 }, 'epoch'],
    [{ sentAt: Number.NaN }, 'sentAt'],
  ];
  for (const [over, name] of bad) {
    assert.throws(
      () => encodeHeartbeat(hb(over), key),
      (e: unknown) => ClusterError.is(e, 'CLUSTER_INVALID_FRAME') && e.message.includes(name),
    );
  }
});

encode('a key shorter than 16 bytes throws CLUSTER_INVALID_KEY', () => {
  assert.throws(
    () => encodeHeartbeat(hb(), Buffer.alloc(8)),
    (e: unknown) => ClusterError.is(e, 'CLUSTER_INVALID_KEY'),
  );
  assert.throws(
    () => new FrameParser(Buffer.alloc(0)),
    (e: unknown) => ClusterError.is(e, 'CLUSTER_INVALID_KEY'),
  );
});

encode.run();

// ---

const stream = suite('FrameParser on a byte stream');

stream('a frame split at every byte boundary comes out once, whole', () => {
  const two = Buffer.concat([encodeHeartbeat(hb({ seq: 1 }), key), encodeHeartbeat(hb({ seq: 2 }), key)]);
  for (let cut = 0; cut <= two.length; cut++) {
    const p = new FrameParser(key);
    const first = p.push(two.subarray(0, cut));
    const second = p.push(two.subarray(cut));
    const frames = [...first.frames, ...second.frames];
    assert.equal(
      frames.map((f) => f.seq),
      [1, 2],
      `cut at ${cut}`,
    );
    assert.equal([...first.errors, ...second.errors], [], `cut at ${cut}`);
    assert.is(p.buffered, 0);
  }
});

stream('byte by byte', () => {
  const frame = encodeHeartbeat(hb(), key);
  const p = new FrameParser(key);
  const frames: Heartbeat[] = [];
  for (const byte of frame) frames.push(...p.push(Buffer.from([byte])).frames);
  assert.equal(frames, [hb()]);
});

stream('garbage before and between frames is reported once per run, frames survive', () => {
  const noise = Buffer.from([1, 2, 3, 0x54, 9, 0xff]);
  const input = Buffer.concat([
    noise,
    encodeHeartbeat(hb({ seq: 1 }), key),
    Buffer.from([0x44, 0x54]),
    encodeHeartbeat(hb({ seq: 2 }), key),
  ]);
  const r = new FrameParser(key).push(input);
  assert.equal(
    r.frames.map((f) => f.seq),
    [1, 2],
  );
  assert.equal(kinds(r), ['garbage', 'garbage']);
  assert.is(r.errors[0]?.bytes, noise.length);
});

stream('a flipped bit outside magic and length is bad-crc; the next frame still decodes', () => {
  const frame = encodeHeartbeat(hb({ seq: 1 }), key);
  const next = encodeHeartbeat(hb({ seq: 2 }), key);
  for (let bit = 6 * 8; bit < frame.length * 8; bit++) {
    const bad = Buffer.from(frame);
    bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
    const r = new FrameParser(key).push(Buffer.concat([bad, next]));
    assert.equal(
      r.frames.map((f) => f.seq),
      [2],
      `bit ${bit}`,
    );
    assert.equal(kinds(r), ['bad-crc'], `bit ${bit}`);
  }
});

stream('a flipped bit in magic or length never yields a frame', () => {
  const frame = encodeHeartbeat(hb(), key);
  for (let bit = 0; bit < HEADER_BYTES * 8; bit++) {
    const bad = Buffer.from(frame);
    bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
    const p = new FrameParser(key);
    const r = p.push(bad);
    assert.equal(r.frames, [], `bit ${bit}`);
    assert.ok(r.errors.length > 0 || p.buffered > 0, `bit ${bit}: the error is reported or the bytes wait`);
  }
});

stream('the right CRC over a frame signed with another key is bad-mac', () => {
  const r = new FrameParser(key).push(encodeHeartbeat(hb(), otherKey));
  assert.equal(r.frames, []);
  assert.equal(kinds(r), ['bad-mac']);
});

stream('an over-long declared length is bad-length at once (no waiting for bytes)', () => {
  const frame = encodeHeartbeat(hb(), key);
  const long = Buffer.from(frame);
  long.writeUInt16BE(60000, 4);
  const p = new FrameParser(key);
  const r = p.push(long.subarray(0, 10));
  assert.equal(kinds(r), ['bad-length']);
  assert.is(p.buffered, 0);
  const wrongForHeartbeat = Buffer.from(frame);
  wrongForHeartbeat.writeUInt16BE(40, 4);
  assert.equal(kinds(new FrameParser(key).push(wrongForHeartbeat)), ['bad-length']);
});

stream('another version with a valid CRC is bad-version; an unknown type or field is bad-payload', () => {
  const frame = encodeHeartbeat(hb(), key);
  const v2 = Buffer.from(frame);
  v2[2] = 2;
  assert.equal(kinds(new FrameParser(key).push(reseal(v2, key))), ['bad-version']);
  const type9 = Buffer.from(frame);
  type9[3] = 9;
  assert.equal(kinds(new FrameParser(key).push(reseal(type9, key))), ['bad-payload']);
  for (const [offset, value] of [
    [HEADER_BYTES + 16, 9], // role code
    [HEADER_BYTES + 17, 0], // priority
    [HEADER_BYTES + 18, 101], // health
    [HEADER_BYTES + 19, 0x80], // unknown flag
  ] as const) {
    const bad = Buffer.from(frame);
    bad[offset] = value;
    const r = new FrameParser(key).push(reseal(bad, key));
    assert.equal(kinds(r), ['bad-payload'], `byte ${offset}`);
  }
});

stream.run();

// ---

const datagram = suite('decodeDatagram');

datagram('one frame per datagram; a truncated one is bad-length', () => {
  const frame = encodeHeartbeat(hb(), key);
  assert.equal(decodeDatagram(frame, key).frames, [hb()]);
  const r = decodeDatagram(frame.subarray(0, 50), key);
  assert.equal(r.frames, []);
  assert.equal(kinds(r), ['bad-length']);
});

datagram.run();

// ---

const fuzz = suite('codec fuzz (seeded)');

fuzz('100,000 random and mutated inputs: no throw, no false accept', () => {
  const rng = new Rng(0xc0dec);
  const originals = Array.from({ length: 16 }, (_, i) =>
    hb({
      seq: i + 1,
      role: rng.pick(['INIT', 'STANDBY', 'ACTIVE', 'FAULT'] as const),
      health: rng.int(0, 100),
      sentAt: rng.float() * 1e6,
    }),
  );
  const frames = originals.map((h) => encodeHeartbeat(h, key));
  const known = new Set(originals.map((h) => JSON.stringify(h)));
  const parser = new FrameParser(key);
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 100_000; i++) {
    let input: Buffer;
    const mode = rng.int(0, 3);
    if (mode === 0) {
      input = Buffer.from(Array.from({ length: rng.int(0, 160) }, () => rng.int(0, 255)));
      if (rng.chance(0.5)) input.set([0x54, 0x44, 1, 1, 0, 28].slice(0, Math.min(6, input.length)), 0);
    } else {
      const f = Buffer.from(rng.pick(frames));
      if (mode === 1) {
        for (let n = rng.int(1, 4); n > 0; n--) f[rng.int(0, f.length - 1)] = rng.int(0, 255);
      } else if (mode === 2) {
        const bit = rng.int(0, f.length * 8 - 1);
        f[bit >> 3] = (f[bit >> 3] as number) ^ (1 << (bit & 7));
      }
      input = mode === 3 ? f : Buffer.from(f.subarray(0, rng.int(0, f.length)));
      if (mode === 3) input = Buffer.concat([Buffer.from([rng.int(0, 255)]), f]);
    }
    const r = rng.chance(0.5) ? parser.push(input) : decodeDatagram(input, key);
    for (const frame of r.frames) {
      assert.ok(known.has(JSON.stringify(frame)), `false accept: ${JSON.stringify(frame)} from input ${i}`);
      accepted++;
    }
    rejected += r.errors.length;
  }
  assert.ok(accepted > 1000, `some intact frames got through (${accepted})`);
  assert.ok(rejected > 50_000, `most inputs were rejected (${rejected})`);
});

fuzz.run();
