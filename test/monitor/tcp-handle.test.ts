/**
 * The bare-handle TCP and HTTP probes on loopback (no namespaces needed): connect and reset, refusals,
 * early closes, bodies in pieces, and a server that never answers aborted through the probe context.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProbeContext } from '../../firmware/monitor/checks/context.ts';
import { http } from '../../firmware/monitor/checks/http.ts';
import { tcp } from '../../firmware/monitor/checks/tcp.ts';
import { available } from '../../firmware/monitor/checks/tcp-handle.ts';
import type { CheckDrivers, CheckTarget } from '../../firmware/monitor/checks/types.ts';
import { LinuxClock } from '../../hal/clock/linux.ts';

const drivers = { clock: new LinuxClock() } as unknown as CheckDrivers;
const target = (port: number): CheckTarget => ({ service: 'web', server: 'lo', address: '127.0.0.1', port });

type Behaviour = (socket: Socket) => void;

async function serve(
  behave: Behaviour,
  host = '127.0.0.1',
): Promise<{ server: Server; port: number; errors: string[] }> {
  const errors: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message));
    behave(socket);
  });
  open.set(server, sockets);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, errors };
}

/** Closes the server and whatever connections it still has. */
const stop = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of open.get(server) ?? []) socket.destroy();
  });

const open = new WeakMap<Server, Set<Socket>>();

const answer =
  (text: string, pieces = 1): Behaviour =>
  (socket) => {
    socket.once('data', () => {
      const size = Math.ceil(text.length / pieces);
      for (let i = 0; i < text.length; i += size) socket.write(text.slice(i, i + size));
      socket.end();
    });
  };

const viaSocket = process.env.TANDEM_MONITOR_NET_SOCKETS === '1';
const handle = suite(
  viaSocket ? 'TCP and HTTP probes on net.Socket (the fallback)' : 'bare TCP handle probes',
);

handle('the binding is there (else the checks use net.Socket)', () => {
  assert.is(available(), !viaSocket);
});

handle('tcp: connects, then resets the connection (no FIN)', async () => {
  const { server, port, errors } = await serve(() => {});
  try {
    const r = await tcp.run(target(port), {}, new ProbeContext(1000, drivers));
    assert.ok(r.ok, JSON.stringify(r));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(errors, ['ECONNRESET']);
  } finally {
    await stop(server);
  }
});

handle('tcp: IPv6 targets connect too', async () => {
  const { server, port } = await serve(() => {}, '::1');
  try {
    const r = await tcp.run({ ...target(port), address: '::1' }, {}, new ProbeContext(1000, drivers));
    assert.ok(r.ok, JSON.stringify(r));
  } finally {
    await stop(server);
  }
});

handle('tcp: a closed port is refused', async () => {
  const { server, port } = await serve(() => {});
  await stop(server);
  const r = await tcp.run(target(port), {}, new ProbeContext(1000, drivers));
  assert.is(r.ok, false);
  if (!r.ok) assert.match(r.reason, /ECONNREFUSED/);
});

handle('http: status line in pieces, body regex over a body in pieces', async () => {
  const text = 'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n';
  const { server, port } = await serve(answer(text, 7));
  try {
    const plain = http.parse({ expectStatus: [200] });
    assert.ok((await http.run(target(port), plain, new ProbeContext(1000, drivers))).ok);
    const body = http.parse({ bodyRegex: 'world\\n$' });
    assert.ok((await http.run(target(port), body, new ProbeContext(1000, drivers))).ok);
    const wrong = http.parse({ bodyRegex: '^bye' });
    const r = await http.run(target(port), wrong, new ProbeContext(1000, drivers));
    assert.is(r.ok, false);
    if (!r.ok) assert.match(r.reason, /does not match/);
  } finally {
    await stop(server);
  }
});

handle('http: wrong status, and a peer that closes without answering', async () => {
  const s503 = await serve(answer('HTTP/1.1 503 Busy\r\n\r\n'));
  const silent = await serve((socket) => socket.once('data', () => socket.end()));
  try {
    const spec = http.parse({});
    const busy = await http.run(target(s503.port), spec, new ProbeContext(1000, drivers));
    assert.is(busy.ok, false);
    if (!busy.ok) assert.match(busy.reason, /answered 503, expected 200-299/);
    const closed = await http.run(target(silent.port), spec, new ProbeContext(1000, drivers));
    assert.is(closed.ok, false);
    if (!closed.ok) assert.match(closed.reason, /closed before a complete response head|closed early/);
  } finally {
    await Promise.all([stop(s503.server), stop(silent.server)]);
  }
});

handle('http: a server that never answers is cut off by the abort, and its connection is reset', async () => {
  const { server, port, errors } = await serve(() => {});
  try {
    const context = new ProbeContext(100, drivers);
    const started = performance.now();
    const timer = setTimeout(() => context.abort(), 100);
    const r = await http.run(target(port), http.parse({}), context);
    clearTimeout(timer);
    assert.is(r.ok, false);
    if (!r.ok) assert.match(r.reason, /timed out/);
    assert.ok(performance.now() - started < 400);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(errors, ['ECONNRESET']);
  } finally {
    await stop(server);
  }
});

handle('an abort before the probe starts settles it at once', async () => {
  const context = new ProbeContext(100, drivers);
  context.abort();
  const r = await tcp.run(target(9), {}, context);
  assert.is(r.ok, false);
});

handle.run();
