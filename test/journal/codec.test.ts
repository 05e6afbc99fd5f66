import { createHmac } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  encodeFrame,
  type Frame,
  FrameParser,
  HEADER_BYTES,
  MAC_BYTES,
  MAX_FRAME_BYTES,
} from '../../firmware/journal/codec.ts';
import { JournalError } from '../../firmware/journal/errors.ts';
import { Session } from '../../firmware/journal/session.ts';
import type { Entry } from '../../firmware/journal/types.ts';
import { Rng } from '../../hal/sim/rng.ts';

const KEY = Buffer.alloc(32, 0x5a);
const OTHER_KEY = Buffer.alloc(32, 0xa5);
const nonce = (n: number): Buffer => Buffer.alloc(16, n);

const entry = (seq: number): Entry => ({
  kind: 'health.set',
  value: { server: `rs${seq}`, state: 'up', detail: '', since: 1000 + seq },
  seq,
  epoch: 3,
  at: 5000 + seq,
});

const frames: Frame[] = [
  { type: 'hello', epoch: 3, seq: 10, node: 'a', nonce: nonce(1).toString('hex') },
  {
    type: 'status',
    epoch: 3,
    seq: 10,
    role: 'leader',
    floor: 4,
    recovering: false,
    history: [{ epoch: 3, leader: 'a', startSeq: 1 }],
  },
  { type: 'entries', epoch: 3, seq: 12, prevSeq: 10, prevEpoch: 3, entries: [entry(11), entry(12)] },
  { type: 'ack', epoch: 3, seq: 12, gap: true, headEpoch: 3, headLeader: 'a' },
  { type: 'snapBegin', epoch: 3, seq: 12, size: 5, sha256: 'ab'.repeat(32), conflictsAfter: 7, leader: 'a' },
  { type: 'snapChunk', epoch: 3, seq: 12, offset: 0, data: Buffer.from('hello') },
  { type: 'snapEnd', epoch: 3, seq: 12 },
  { type: 'ping', epoch: 3, seq: 12 },
  { type: 'refuse', epoch: 3, seq: 0, reason: 'stale epoch' },
];

/** Encodes as the sender of a connection whose receiver's nonce is `nonce(2)`. */
const enc = (f: Frame, counter: number, key = KEY, binding = nonce(2)): Buffer =>
  encodeFrame(f, { key, binding, counter });

// ---

const roundTrip = suite('codec: encode then parse');

roundTrip('every frame type survives a round trip', () => {
  const parser = new FrameParser(KEY, nonce(2));
  const out = parser.push(Buffer.concat(frames.map((f, i) => enc(f, i))));
  assert.is(out.length, frames.length);
  out.forEach((d, i) => {
    assert.ok(d.ok, `frame ${i}: ${d.ok ? '' : d.error.detail}`);
    if (d.ok) {
      assert.equal(d.frame, frames[i]);
      assert.is(d.counter, i);
    }
  });
});

roundTrip('a stream cut at every byte boundary yields the same frames (partial tail kept)', () => {
  const bytes = Buffer.concat(frames.map((f, i) => enc(f, i)));
  const rng = new Rng(7);
  for (let round = 0; round < 20; round++) {
    const parser = new FrameParser(KEY, nonce(2));
    const got: Frame[] = [];
    for (let at = 0; at < bytes.length; ) {
      const n = round === 0 ? 1 : rng.int(1, 200);
      for (const d of parser.push(bytes.subarray(at, at + n))) {
        assert.ok(d.ok);
        if (d.ok) got.push(d.frame);
      }
      at += n;
    }
    assert.equal(got, frames);
  }
});

roundTrip('frames are built independently: interleaved encodes do not share buffers', () => {
  const a = enc(frames[2] as Frame, 5);
  const b = enc(frames[3] as Frame, 6);
  const a2 = enc(frames[2] as Frame, 5);
  assert.ok(a.equals(a2));
  assert.not.ok(a.buffer === b.buffer && a.byteOffset === b.byteOffset);
});

roundTrip('a key shorter than 16 bytes is refused with a clear error', () => {
  assert.throws(
    () => new FrameParser(Buffer.alloc(8), nonce(2)),
    (e: unknown) => JournalError.is(e, 'JOURNAL_INVALID_ARGUMENT') && /at least 16 bytes/.test(e.message),
  );
});

roundTrip.run();

// ---

const refusals = suite('codec: typed decode errors, never thrown');

refusals('a flipped bit anywhere is bad-mac (not fatal); the next frame still parses', () => {
  const good = enc(frames[2] as Frame, 1);
  for (const at of [9, 14, HEADER_BYTES + 3, good.length - MAC_BYTES - 1, good.length - 1]) {
    const garbled = Buffer.from(good);
    garbled[at] = (garbled[at] as number) ^ 0x01;
    const parser = new FrameParser(KEY, nonce(2));
    const out = parser.push(Buffer.concat([garbled, enc(frames[3] as Frame, 2)]));
    assert.is(out.length, 2);
    assert.equal(out[0]?.ok ? 'ok' : out[0]?.error.code, 'bad-mac', `flip at ${at}`);
    assert.ok(out[1]?.ok, 'the following frame parses');
  }
});

refusals('a wrong key is bad-mac', () => {
  const out = new FrameParser(KEY, nonce(2)).push(enc(frames[3] as Frame, 1, OTHER_KEY));
  assert.equal(
    out.map((d) => (d.ok ? 'ok' : d.error.code)),
    ['bad-mac'],
  );
});

refusals('a frame bound to another connection (other nonce) is bad-mac; hello is not bound', () => {
  const parser = new FrameParser(KEY, nonce(2));
  const out = parser.push(
    Buffer.concat([enc(frames[3] as Frame, 1, KEY, nonce(9)), enc(frames[0] as Frame, 0, KEY, nonce(9))]),
  );
  assert.equal(
    out.map((d) => (d.ok ? d.frame.type : d.error.code)),
    ['bad-mac', 'hello'],
  );
});

refusals('bad magic, too-large and too-short lengths are fatal and stop the parser', () => {
  const cases: [Buffer, string][] = [
    [Buffer.from('GET / HTTP/1.1\r\n\r\n'), 'bad-magic'],
    [Buffer.from([0xff, 0xff, 0xff, 0xff, 0x54, 0x4a]), 'too-large'],
    [Buffer.from([0, 0, 0, 3, 0x54, 0x4a, 1, 1]), 'bad-length'],
  ];
  for (const [bytes, code] of cases) {
    const parser = new FrameParser(KEY, nonce(2));
    const out = parser.push(bytes);
    assert.equal(
      out.map((d) => (d.ok ? 'ok' : `${d.error.code}:${d.error.fatal}`)),
      [`${code}:true`],
    );
    assert.equal(parser.push(enc(frames[3] as Frame, 1)), [], 'nothing parsed after a fatal error');
  }
  assert.ok(MAX_FRAME_BYTES >= 1024 * 1024);
});

refusals('an unknown type and a malformed body are counted errors, not exceptions', () => {
  const ping = enc(frames[7] as Frame, 1);
  ping[7] = 99;
  const resigned = resign(ping);
  const bodyBad = resign(withBody(enc(frames[3] as Frame, 2), Buffer.from('{"gap": "yes"}')));
  const entryBad = resign(
    withBody(
      enc(frames[2] as Frame, 3),
      Buffer.from(
        JSON.stringify({ prevSeq: 1, prevEpoch: 1, entries: [[2, 1, 'health.set', { server: '' }, 1]] }),
      ),
    ),
  );
  const out = new FrameParser(KEY, nonce(2)).push(Buffer.concat([resigned, bodyBad, entryBad]));
  assert.equal(
    out.map((d) => (d.ok ? 'ok' : d.error.code)),
    ['unknown-type', 'bad-body', 'bad-body'],
  );
  const detail = out[2]?.ok === false ? out[2].error.detail : '';
  assert.match(detail, /entries\[0\]\.value\.server/);
});

function withBody(frame: Buffer, body: Buffer): Buffer {
  const out = Buffer.concat([frame.subarray(0, HEADER_BYTES), body, Buffer.alloc(MAC_BYTES)]);
  out.writeUInt32BE(out.length - 4, 0);
  return out;
}

/** Signs `frame` as a peer holding the key would, so only its content is wrong. */
function resign(frame: Buffer): Buffer {
  const signed = frame.subarray(0, frame.length - MAC_BYTES);
  const mac = createHmac('sha256', KEY).update(nonce(2)).update(signed).digest();
  return Buffer.concat([signed, mac]);
}

refusals.run();

// ---

const sessions = suite('session: nonces and the replay window');

function pair(): { a: Session; b: Session } {
  const a = new Session(KEY, nonce(1));
  const b = new Session(KEY, nonce(2));
  const helloA = a.hello('a', 1, 0);
  const helloB = b.hello('b', 1, 0);
  assert.ok(b.receive(helloA)[0]?.ok);
  assert.ok(a.receive(helloB)[0]?.ok);
  return { a, b };
}

sessions('after HELLOs both ends exchange authenticated frames', () => {
  const { a, b } = pair();
  const got = b.receive(Buffer.concat([a.encode(frames[7] as Frame), a.encode(frames[3] as Frame)]));
  assert.equal(
    got.map((r) => (r.ok ? r.frame.type : r.refusal.reason)),
    ['ping', 'ack'],
  );
});

sessions('a replayed frame (same counter) is refused as replayed, not fatal', () => {
  const { a, b } = pair();
  const f = a.encode(frames[3] as Frame);
  assert.ok(b.receive(f)[0]?.ok);
  const again = b.receive(f)[0];
  assert.equal(again?.ok ? 'ok' : [again?.refusal.reason, again?.refusal.fatal], ['replayed', false]);
  assert.ok(b.receive(a.encode(frames[7] as Frame))[0]?.ok, 'later frames still pass');
});

sessions('frames recorded on one connection fail on the next (fresh nonces)', () => {
  const first = pair();
  const recorded = first.a.encode(frames[2] as Frame);
  const b2 = new Session(KEY, nonce(3));
  const a2 = new Session(KEY, nonce(4));
  b2.receive(a2.hello('a', 1, 0));
  const got = b2.receive(recorded)[0];
  assert.equal(got?.ok ? 'ok' : got?.refusal.reason, 'bad-mac');
});

sessions('a first frame other than HELLO is fatal; a second HELLO is a replay', () => {
  const a = new Session(KEY, nonce(1));
  const b = new Session(KEY, nonce(2));
  const hello = a.hello('a', 1, 0);
  const early = encodeFrame(frames[7] as Frame, { key: KEY, binding: nonce(2), counter: 1 });
  const r = b.receive(early)[0];
  assert.equal(r?.ok ? 'ok' : [r?.refusal.reason, r?.refusal.fatal], ['no-hello', true]);
  const c = new Session(KEY, nonce(2));
  assert.ok(c.receive(hello)[0]?.ok);
  const dup = c.receive(hello)[0];
  assert.equal(dup?.ok ? 'ok' : dup?.refusal.reason, 'replayed');
});

sessions('sending before the peer HELLO, or HELLO twice, is a programming error', () => {
  const a = new Session(KEY, nonce(1));
  assert.throws(
    () => a.encode(frames[7] as Frame),
    (e: unknown) => JournalError.is(e, 'JOURNAL_PROTOCOL'),
  );
  a.hello('a', 1, 0);
  assert.throws(
    () => a.hello('a', 1, 0),
    (e: unknown) => JournalError.is(e, 'JOURNAL_PROTOCOL'),
  );
  assert.throws(
    () => new Session(KEY, Buffer.alloc(4)),
    (e: unknown) => JournalError.is(e, 'JOURNAL_INVALID_ARGUMENT'),
  );
});

sessions.run();
