import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseHttpResponse } from '../../board/sim/testbed/http-probe.ts';
import { classify } from '../../board/sim/testbed/processes.ts';
import { createRealServer, MAX_BYTES } from '../../board/sim/testbed/realserver.ts';

const http = suite<{ server?: Server; base: string }>('real server HTTP', { base: '' });

http.before(async (ctx) => {
  const server = createRealServer('rs7');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ctx.server = server;
  ctx.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

http.after(async (ctx) => {
  const server = ctx.server;
  if (server) await new Promise((resolve) => server.close(resolve));
});

http('GET / answers its name, with X-Real-Server', async ({ base }) => {
  const res = await fetch(`${base}/`);
  assert.is(res.status, 200);
  assert.is(res.headers.get('x-real-server'), 'rs7');
  assert.is(await res.text(), 'rs7\n');
});

http('GET /health answers ok', async ({ base }) => {
  const res = await fetch(`${base}/health`);
  assert.is(res.status, 200);
  assert.is(await res.text(), 'ok\n');
});

http('GET /bytes/<n> streams exactly n bytes', async ({ base }) => {
  for (const n of [0, 1, 65536, 300_001]) {
    const res = await fetch(`${base}/bytes/${n}`);
    assert.is(res.status, 200);
    assert.is(res.headers.get('content-length'), String(n));
    assert.is((await res.arrayBuffer()).byteLength, n);
  }
  const head = await fetch(`${base}/bytes/${MAX_BYTES}`, { method: 'HEAD' });
  assert.is(head.headers.get('content-length'), String(MAX_BYTES));
});

http('bad requests: too many bytes 400, unknown path 404, POST 405', async ({ base }) => {
  const big = await fetch(`${base}/bytes/${MAX_BYTES + 1}`);
  assert.is(big.status, 400);
  assert.match(await big.text(), 'exceeds the limit');
  const missing = await fetch(`${base}/nope`);
  assert.is(missing.status, 404);
  assert.match(await missing.text(), 'no such path /nope');
  const post = await fetch(`${base}/`, { method: 'POST', body: 'x' });
  assert.is(post.status, 405);
  assert.is(post.headers.get('allow'), 'GET, HEAD');
});

http('a name that is not a plain word is refused', () => {
  assert.throws(() => createRealServer(''), /not usable/);
  assert.throws(() => createRealServer('rs 1'), /"rs 1"/);
});

http.run();

// ---

const probe = suite('parseHttpResponse');

probe('splits status, lower-cased headers and body', () => {
  const raw = 'HTTP/1.1 200 OK\r\nX-Real-Server: rs1\r\nContent-Length: 4\r\n\r\nrs1\n';
  assert.equal(parseHttpResponse(raw), {
    status: 200,
    headers: { 'x-real-server': 'rs1', 'content-length': '4' },
    body: 'rs1\n',
  });
});

probe('anything else is undefined', () => {
  assert.is(parseHttpResponse(''), undefined);
  assert.is(parseHttpResponse('SSH-2.0-OpenSSH\r\n\r\n'), undefined);
  assert.is(parseHttpResponse('HTTP/1.1 200 OK\r\n'), undefined);
});

probe.run();

// ---

const own = suite('classify: the testbed finds its own processes by command line');

const state = '/run/tandem-sim/tnd-t5-1';

own('its socat and its real servers', () => {
  const socat = ['socat', `pty,raw,echo=0,link=${state}/serial-a`, `pty,raw,echo=0,link=${state}/serial-b`];
  assert.equal(classify(10, socat, 'tnd-t5-1', state), { pid: 10, role: 'serial' });
  const rs = [
    '/usr/bin/node',
    '--import',
    'tsx',
    '/x/board/sim/testbed/realserver.ts',
    '--testbed',
    'tnd-t5-1',
    '--name',
    'rs2',
  ];
  assert.equal(classify(11, rs, 'tnd-t5-1', state), { pid: 11, role: 'realserver', name: 'rs2' });
});

own('never another testbed’s or anyone else’s', () => {
  const other = ['socat', 'pty,raw,echo=0,link=/run/tandem-sim/tnd-t5-10/serial-a', 'pty'];
  assert.is(classify(12, other, 'tnd-t5-1', state), undefined);
  assert.is(classify(13, ['socat', 'pty,link=/tmp/spA', 'pty,link=/tmp/spB'], 'tnd-t5-1', state), undefined);
  const rs = ['node', '--import', 'tsx', '/x/realserver.ts', '--testbed', 'tnd-t5-10', '--name', 'rs1'];
  assert.is(classify(14, rs, 'tnd-t5-1', state), undefined);
  assert.is(classify(15, ['node', '/x/realserver.ts', '--name', 'rs1'], 'tnd-t5-1', state), undefined);
  assert.is(classify(16, ['bash'], 'tnd-t5-1', state), undefined);
});

own.run();
