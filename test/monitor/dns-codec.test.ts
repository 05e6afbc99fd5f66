/** The DNS codec: queries, answers with compression, and malformed input as typed decode failures. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeMessage,
  encodeName,
  encodeQuery,
  encodeResponse,
  RECORD_TYPES,
  rcodeName,
} from '../../firmware/monitor/checks/dns-codec.ts';

const codec = suite('dns codec');

codec('a query: header, one question, RD flag', () => {
  const q = encodeQuery({
    id: 0x1234,
    name: 'www.example.test',
    type: RECORD_TYPES.A,
    recursionDesired: true,
  });
  assert.is(q.toString('hex').slice(0, 24), '123401000001000000000000');
  const d = decodeMessage(q);
  assert.ok(d.ok);
  if (!d.ok) return;
  assert.equal(d.message.questions, [{ name: 'www.example.test', type: 1, class: 1 }]);
  assert.equal([d.message.response, d.message.recursionDesired, d.message.rcode], [false, true, 0]);
});

codec('answers round-trip: A, AAAA, CNAME, MX, TXT', () => {
  const q = decodeMessage(
    encodeQuery({ id: 7, name: 'x.test', type: RECORD_TYPES.A, recursionDesired: false }),
  );
  assert.ok(q.ok);
  if (!q.ok) return;
  const records = [
    { name: 'x.test', type: RECORD_TYPES.A, ttl: 60, data: '192.0.2.1' },
    { name: 'x.test', type: RECORD_TYPES.AAAA, ttl: 60, data: '2001:db8::1' },
    { name: 'x.test', type: RECORD_TYPES.CNAME, ttl: 60, data: 'y.test' },
    { name: 'x.test', type: RECORD_TYPES.MX, ttl: 60, data: '10 mail.test' },
    { name: 'x.test', type: RECORD_TYPES.TXT, ttl: 60, data: 'hello' },
  ];
  const d = decodeMessage(encodeResponse(q.message, { rcode: 0, records }));
  assert.ok(d.ok);
  if (!d.ok) return;
  assert.equal(
    d.message.answers.map((a) => a.data),
    ['192.0.2.1', '2001:db8::1', 'y.test', '10 mail.test', 'hello'],
  );
  assert.equal([d.message.id, d.message.response, d.message.authoritative], [7, true, true]);
});

codec('compressed names (pointers) are followed', () => {
  // Header, question www.example.test A IN, answer with name = pointer to offset 12, A 192.0.2.9.
  const question = Buffer.concat([encodeName('www.example.test'), Buffer.from([0, 1, 0, 1])]);
  const answer = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 9]);
  const header = Buffer.from([0, 9, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
  const d = decodeMessage(Buffer.concat([header, question, answer]));
  assert.ok(d.ok);
  if (d.ok)
    assert.equal(d.message.answers[0], {
      name: 'www.example.test',
      type: 1,
      class: 1,
      ttl: 60,
      data: '192.0.2.9',
    });
});

codec('malformed: short header, runaway label, pointer loop, bad A length', () => {
  const bad = (buf: Buffer, pattern: RegExp): void => {
    const d = decodeMessage(buf);
    assert.not.ok(d.ok);
    if (!d.ok) assert.match(d.error, pattern);
  };
  bad(Buffer.alloc(5), /shorter than a header/);
  bad(
    Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([10, 97])]),
    /runs past the end/,
  );
  bad(Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([0xc0, 12])]), /loop/);
  const header = Buffer.from([0, 9, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0]);
  bad(
    Buffer.concat([header, Buffer.from([0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 3, 1, 2, 3])]),
    /A record of 3 bytes/,
  );
});

codec('names: labels over 63 bytes are refused; rcode names', () => {
  assert.throws(() => encodeName(`${'a'.repeat(64)}.test`), /1\.\.63 bytes/);
  assert.is(encodeName('.').length, 1);
  assert.equal([rcodeName(0), rcodeName(3), rcodeName(11)], ['NOERROR', 'NXDOMAIN', 'RCODE11']);
});

codec.run();
