/** ResponseReader: HTTP/1.x responses fed in pieces, every framing, and bad input reported, never thrown. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type ReaderOptions,
  type ReadOutcome,
  ResponseReader,
} from '../../firmware/monitor/checks/http-response.ts';

const opts: ReaderOptions = { wantBody: true, maxBodyBytes: 1024, head: false };

/** Feeds `text` in pieces of `piece` bytes, then (unless it finished) the end of the connection. */
function read(text: string, piece = text.length, options = opts): ReadOutcome {
  const r = new ResponseReader(options);
  const bytes = Buffer.from(text, 'latin1');
  let out: ReadOutcome = { state: 'more' };
  for (let i = 0; i < bytes.length && out.state === 'more'; i += piece)
    out = r.push(bytes.subarray(i, i + piece));
  return out.state === 'more' ? r.end() : out;
}

const done = (o: ReadOutcome): { status: number; body: string | undefined } => {
  assert.is(o.state, 'done', JSON.stringify(o));
  if (o.state !== 'done') throw new Error('unreachable');
  return { status: o.status, body: o.body?.toString('latin1') };
};

const reader = suite('ResponseReader');

reader('Content-Length body, whole or one byte at a time', () => {
  const text = 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX: y\r\n\r\nrs1\nEXTRA';
  assert.equal(done(read(text)), { status: 200, body: 'rs1\n' });
  assert.equal(done(read(text, 1)), { status: 200, body: 'rs1\n' });
});

const reusable = (text: string, options: Partial<ReaderOptions> = {}, piece = text.length): boolean => {
  const o = read(text, piece, { ...opts, keepAlive: true, ...options });
  assert.is(o.state, 'done', JSON.stringify(o));
  return o.state === 'done' && o.reusable;
};

reader(
  'keepAlive: the whole response is read, the body kept only when wanted, reuse as the server says',
  () => {
    const length = 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nrs1\n';
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nrs1\n\r\n0\r\n\r\n';
    for (const piece of [1, 5, 1000]) {
      assert.ok(reusable(length, {}, piece));
      assert.ok(reusable(chunked, { wantBody: false }, piece));
    }
    const noBody = read(length, 1000, { ...opts, wantBody: false, keepAlive: true });
    assert.equal(done(noBody), { status: 200, body: undefined });
    assert.ok(reusable('HTTP/1.1 204 No Content\r\n\r\n'));
    assert.ok(reusable('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n', { head: true }));
    assert.not.ok(reusable(length.replace('\r\n\r\n', '\r\nConnection: keep-alive, Close\r\n\r\n')));
    assert.not.ok(reusable(length.replace('HTTP/1.1', 'HTTP/1.0')), 'HTTP/1.0 closes by default');
    assert.not.ok(reusable('HTTP/1.1 200 OK\r\n\r\nuntil the end'), 'framed by the close');
    assert.not.ok(reusable(`${length}HTTP/1.1 200 OK`), 'bytes after the response');
    const unasked = read(length);
    assert.is(unasked.state === 'done' && unasked.reusable, false, 'not unless asked');
  },
);

reader('chunked body with extensions and trailers, in every split', () => {
  const text =
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\n';
  for (const piece of [1, 2, 3, 7, 1000])
    assert.equal(done(read(text, piece)), { status: 200, body: 'Wikipedia in \r\n\r\nchunks.' });
});

reader('body until the connection closes', () => {
  assert.equal(done(read('HTTP/1.0 503 Busy\r\n\r\nno room')), { status: 503, body: 'no room' });
});

reader('no body wanted: done at the end of the head', () => {
  const r = new ResponseReader({ ...opts, wantBody: false });
  assert.equal(done(r.push(Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\n'))), {
    status: 404,
    body: undefined,
  });
});

reader('no body wanted: the status line alone decides, headers are not waited for', () => {
  const r = new ResponseReader({ ...opts, wantBody: false });
  assert.equal(r.push(Buffer.from('HTTP/1.1 200')), { state: 'more' });
  assert.equal(done(r.push(Buffer.from(' OK\r\nContent-Le'))), { status: 200, body: undefined });
  const bad = new ResponseReader({ ...opts, wantBody: false });
  const out = bad.push(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'));
  assert.is(out.state, 'error');
  if (out.state === 'error') assert.match(out.error, /not an HTTP\/1\.x status line: "SSH-2\.0/);
});

reader('HEAD, 204 and 304 have no body', () => {
  assert.equal(done(read('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', 5, { ...opts, head: true })), {
    status: 200,
    body: '',
  });
  assert.equal(done(read('HTTP/1.1 204 No Content\r\n\r\n')), { status: 204, body: '' });
  assert.equal(done(read('HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n')), {
    status: 304,
    body: '',
  });
});

reader('errors: bad status line, bad header, bad length, bad chunk, too long, early close', () => {
  const error = (o: ReadOutcome, pattern: RegExp): void => {
    assert.is(o.state, 'error');
    if (o.state === 'error') assert.match(o.error, pattern);
  };
  error(read('SSH-2.0-OpenSSH\r\n\r\n'), /not an HTTP\/1\.x status line/);
  error(read('HTTP/1.1 200 OK\r\nno colon\r\n\r\n'), /malformed header line/);
  error(read('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'), /bad Content-Length/);
  error(read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'), /bad chunk size/);
  error(read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY'), /chunk not followed by CRLF/);
  error(
    read(`HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n${'x'.repeat(2000)}`),
    /longer than maxBodyBytes 1024/,
  );
  error(read(`HTTP/1.1 200 OK\r\nX: ${'y'.repeat(20_000)}`), /response head longer than/);
  error(read('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), /closed in the body/);
  error(read('HTTP/1.1 200'), /before a complete response head/);
});

reader.run();
