/**
 * Kept-alive HTTP probe connections waiting between probes, on loopback with a node:http server: reuse,
 * expiry after the idle limit, a server closing a waiting connection, closeAll. On the bare handles, or
 * on net.Socket when TANDEM_MONITOR_NET_SOCKETS=1 (idle-connections-fallback.test.ts).
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProbeContext } from '../../firmware/monitor/checks/context.ts';
import { http } from '../../firmware/monitor/checks/http.ts';
import { IdleConnections } from '../../firmware/monitor/checks/idle-connections.ts';
import type { CheckDrivers, CheckTarget, ProbeResult } from '../../firmware/monitor/checks/types.ts';
import { LinuxClock } from '../../hal/clock/linux.ts';

const clock = new LinuxClock();

interface Farm {
  server: Server;
  port: number;
  sockets: Set<Socket>;
  accepted: number;
}

async function serve(keepAliveTimeoutMs: number): Promise<Farm> {
  const farm: Farm = { server: createServer(), port: 0, sockets: new Set(), accepted: 0 };
  farm.server.keepAliveTimeout = keepAliveTimeoutMs;
  farm.server.on('request', (_req, res) => res.end('ok\n'));
  farm.server.on('connection', (socket: Socket) => {
    farm.accepted++;
    farm.sockets.add(socket);
    socket.once('close', () => farm.sockets.delete(socket));
  });
  await new Promise<void>((resolve) => farm.server.listen(0, '127.0.0.1', resolve));
  const address = farm.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  farm.port = address.port;
  return farm;
}

const stop = (farm: Farm): Promise<void> =>
  new Promise((resolve) => {
    farm.server.close(() => resolve());
    farm.server.closeAllConnections();
  });

const target = (port: number): CheckTarget => ({ service: 'web', server: 'lo', address: '127.0.0.1', port });

function probe(pool: IdleConnections, farm: Farm): Promise<ProbeResult> {
  const drivers = { clock, connections: pool } as unknown as CheckDrivers;
  return http.run(target(farm.port), http.parse({ keepAlive: true }), new ProbeContext(1000, drivers));
}

/** Waits until `cond` holds, polling every 10 ms, at most `ms`. */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond() && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

const idle = suite(
  process.env.TANDEM_MONITOR_NET_SOCKETS === '1' ? 'idle connections (net.Socket path)' : 'idle connections',
);

idle('a waiting connection serves the next probe; closeAll closes it', async () => {
  const farm = await serve(5000);
  const pool = new IdleConnections(clock);
  try {
    for (let i = 0; i < 5; i++) assert.ok((await probe(pool, farm)).ok);
    assert.is(farm.accepted, 1);
    assert.is(pool.size, 1);
    pool.closeAll();
    assert.is(pool.size, 0);
    assert.ok(await until(() => farm.sockets.size === 0, 2000), 'the server saw it close');
  } finally {
    pool.closeAll();
    await stop(farm);
  }
});

idle('a connection waiting longer than the idle limit is closed', async () => {
  const farm = await serve(5000);
  const pool = new IdleConnections(clock, 200);
  try {
    assert.ok((await probe(pool, farm)).ok);
    assert.is(pool.size, 1);
    assert.ok(await until(() => pool.size === 0, 1000), 'expired');
    assert.ok(await until(() => farm.sockets.size === 0, 2000), 'the server saw it close');
    assert.ok((await probe(pool, farm)).ok);
    assert.is(farm.accepted, 2);
  } finally {
    pool.closeAll();
    await stop(farm);
  }
});

idle('a connection the server closes while it waits is dropped; the next probe connects afresh', async () => {
  const farm = await serve(100);
  const pool = new IdleConnections(clock);
  try {
    assert.ok((await probe(pool, farm)).ok);
    assert.is(pool.size, 1);
    assert.ok(await until(() => pool.size === 0, 2000), 'dropped when the server closed it');
    assert.ok((await probe(pool, farm)).ok);
    assert.is(farm.accepted, 2);
  } finally {
    pool.closeAll();
    await stop(farm);
  }
});

idle.run();
