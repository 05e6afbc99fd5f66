import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeEchoReply,
  echoPayload,
  encodeEchoRequest,
  ICMP_ECHO_REPLY,
  ICMPV6_ECHO_REPLY,
  internetChecksum,
} from '../../../hal/icmp/codec.ts';
import type { IgnoreReason } from '../../../hal/icmp/types.ts';
import { Rng } from '../../../hal/sim/rng.ts';

const checksum = suite('internetChecksum');

checksum('matches the RFC 1071 worked example', () => {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
  assert.is(internetChecksum(Buffer.from('0001f203f4f5f6f7', 'hex')), 0x220d);
});

checksum('matches the echo request in the raw-socket README (checksum 0x4352)', () => {
  const packet = Buffer.from(
    '08000000' + '00010a09' + '6162636465666768696a6b6c6d6e6f7071727374757677616263646566676869',
    'hex',
  );
  assert.is(internetChecksum(packet), 0x4352);
});

checksum('pads an odd length with a zero byte, and a message carrying its checksum sums to 0', () => {
  assert.is(internetChecksum(Buffer.from([0xab])), internetChecksum(Buffer.from([0xab, 0x00])));
  assert.is(internetChecksum(Buffer.alloc(0)), 0xffff);
  const request = encodeEchoRequest(4, { identifier: 7, sequence: 9, payload: Buffer.from('odd') });
  assert.is(internetChecksum(request), 0);
});

checksum.run();

// ---

const encode = suite('encodeEchoRequest');

encode('IPv4: type 8, code 0, identifier, sequence and payload in network order', () => {
  const payload = Buffer.from('hello');
  const request = encodeEchoRequest(4, { identifier: 0x1234, sequence: 0xfedc, payload });
  assert.is(request.length, 8 + payload.length);
  assert.equal([...request.subarray(0, 2)], [8, 0]);
  assert.is(request.readUInt16BE(4), 0x1234);
  assert.is(request.readUInt16BE(6), 0xfedc);
  assert.equal(request.subarray(8), payload);
  assert.is(internetChecksum(request), 0);
});

encode('IPv6: type 128 with the checksum left for the kernel', () => {
  const request = encodeEchoRequest(6, { identifier: 1, sequence: 2, payload: Buffer.alloc(4, 0xaa) });
  assert.is(request[0], 128);
  assert.is(request.readUInt16BE(2), 0);
});

encode('refuses identifiers and sequences outside 16 bits', () => {
  for (const bad of [-1, 0x10000, 1.5, Number.NaN]) {
    assert.throws(
      () => encodeEchoRequest(4, { identifier: bad, sequence: 0, payload: Buffer.alloc(0) }),
      RangeError,
    );
    assert.throws(
      () => encodeEchoRequest(4, { identifier: 0, sequence: bad, payload: Buffer.alloc(0) }),
      RangeError,
    );
  }
});

encode('echoPayload starts with the cookie and differs between sequences', () => {
  const cookie = Buffer.from('cookie!!');
  const a = echoPayload(20, cookie, 1);
  const b = echoPayload(20, cookie, 2);
  assert.equal(a.subarray(0, 8), cookie);
  assert.not.equal(a, b);
  assert.is(echoPayload(3, cookie, 1).toString(), 'coo');
  assert.is(echoPayload(0, cookie, 1).length, 0);
});

encode.run();

// ---

/** An IPv4 packet around an ICMP message, as a Linux raw socket hands it over. */
function ipv4(
  icmp: Buffer,
  overrides: { ttl?: number; protocol?: number; totalLength?: number } = {},
): Buffer {
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header.writeUInt16BE(overrides.totalLength ?? 20 + icmp.length, 2);
  header[8] = overrides.ttl ?? 63;
  header[9] = overrides.protocol ?? 1;
  header.write('0a000002', 12, 'hex');
  header.write('0a000001', 16, 'hex');
  return Buffer.concat([header, icmp]);
}

function reply(identifier: number, sequence: number, payload: Buffer, type = ICMP_ECHO_REPLY): Buffer {
  const message = encodeEchoRequest(4, { identifier, sequence, payload });
  message[0] = type;
  message.writeUInt16BE(0, 2);
  message.writeUInt16BE(internetChecksum(message), 2);
  return message;
}

const decode = suite('decodeEchoReply');

decode('IPv4: an echo reply yields identifier, sequence, payload and TTL', () => {
  const result = decodeEchoReply(4, ipv4(reply(0xbeef, 513, Buffer.from('data')), { ttl: 61 }));
  assert.ok(result.ok);
  if (!result.ok) return;
  assert.is(result.echo.identifier, 0xbeef);
  assert.is(result.echo.sequence, 513);
  assert.is(result.echo.payload.toString(), 'data');
  assert.is(result.ttl, 61);
});

decode('IPv4: trailing bytes beyond the total length are not part of the payload', () => {
  const packet = Buffer.concat([ipv4(reply(1, 1, Buffer.from('ab'))), Buffer.from('zz')]);
  const result = decodeEchoReply(4, packet);
  assert.ok(result.ok && result.echo.payload.toString() === 'ab');
});

decode('IPv6: an echo reply (no IP header, no TTL)', () => {
  const message = encodeEchoRequest(6, { identifier: 9, sequence: 10, payload: Buffer.from('v6') });
  message[0] = ICMPV6_ECHO_REPLY;
  const result = decodeEchoReply(6, message);
  assert.ok(result.ok);
  if (!result.ok) return;
  assert.equal([result.echo.identifier, result.echo.sequence, result.ttl], [9, 10, undefined]);
});

const good = reply(1, 2, Buffer.from('payload'));
const badChecksum = Buffer.from(good);
badChecksum[9] = (badChecksum[9] as number) ^ 0xff;
const badCode = reply(1, 2, Buffer.alloc(0));
badCode[1] = 1;
badCode.writeUInt16BE(0, 2);
badCode.writeUInt16BE(internetChecksum(badCode), 2);
const versionSix = ipv4(good);
versionSix[0] = 0x65;
const shortHeader = ipv4(good);
shortHeader[0] = 0x44;

const garbage: [string, 4 | 6, Buffer, IgnoreReason][] = [
  ['an empty packet', 4, Buffer.alloc(0), 'truncated'],
  ['19 bytes', 4, Buffer.alloc(19, 0x45), 'truncated'],
  ['IP version 6 on the IPv4 socket', 4, versionSix, 'malformed'],
  ['a header length below 20 bytes', 4, shortHeader, 'malformed'],
  ['a TCP packet', 4, ipv4(good, { protocol: 6 }), 'malformed'],
  ['a total length below the header length', 4, ipv4(good, { totalLength: 12 }), 'malformed'],
  ['a total length beyond the bytes received', 4, ipv4(good, { totalLength: 400 }), 'truncated'],
  ['an ICMP message shorter than 8 bytes', 4, ipv4(good.subarray(0, 6)), 'truncated'],
  ['a bad checksum', 4, ipv4(badChecksum), 'bad-checksum'],
  ['an echo request', 4, ipv4(reply(1, 2, Buffer.alloc(0), 8)), 'not-echo-reply'],
  ['a destination unreachable', 4, ipv4(reply(1, 2, Buffer.alloc(28), 3)), 'not-echo-reply'],
  ['an echo reply with code 1', 4, ipv4(badCode), 'malformed'],
  ['a 4-byte ICMPv6 message', 6, Buffer.from([129, 0, 0, 0]), 'truncated'],
  ['an ICMPv6 echo request', 6, Buffer.from([128, 0, 0, 0, 0, 1, 0, 1]), 'not-echo-reply'],
  ['an ICMPv6 neighbour solicitation', 6, Buffer.alloc(24, 135).fill(0, 1), 'not-echo-reply'],
];

for (const [what, family, packet, reason] of garbage) {
  decode(`garbage is ignored with a reason, never thrown: ${what} → ${reason}`, () => {
    assert.equal(decodeEchoReply(family, packet), { ok: false, reason });
  });
}

decode('5000 random packets (seed 42) never throw and always give a result', () => {
  const rng = new Rng(42);
  const reasons = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const packet = Buffer.alloc(rng.int(0, 80));
    for (let j = 0; j < packet.length; j++) packet[j] = rng.int(0, 255);
    if (packet.length > 0 && rng.chance(0.5)) packet[0] = 0x45;
    if (packet.length > 9 && rng.chance(0.5)) packet[9] = 1;
    const family = rng.chance(0.5) ? 4 : 6;
    const result = decodeEchoReply(family, packet);
    reasons.add(result.ok ? 'ok' : result.reason);
  }
  assert.ok(reasons.size >= 3, [...reasons].join(' '));
});

decode.run();
