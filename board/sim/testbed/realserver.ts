/**
 * A testbed real server: a small HTTP server that says who it is.
 *   GET /           → `<name>\n`
 *   GET /health     → `ok\n`
 *   GET /bytes/<n>  → n bytes (streamed with back-pressure: for throughput and long-lived flows)
 * Every answer carries `X-Real-Server: <name>`. Run as a program inside a real server's namespace:
 *   node --import tsx realserver.ts --name rs1 [--port 80[,8001...]] [--host 0.0.0.0] [--pid-file F] [--testbed P]
 * The PID file is written once the server listens (so it doubles as the readiness signal) and removed on
 * SIGTERM/SIGINT. `--testbed` only marks the command line so the testbed can find its own processes.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** Largest /bytes/<n> served (1 TiB): enough for any bounded test, small enough to stay a safe integer. */
export const MAX_BYTES = 2 ** 40;
const CHUNK = Buffer.alloc(64 * 1024, 'tandem real server payload\n');

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function streamBytes(res: ServerResponse, total: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  let left = total;
  while (left > 0 && !res.destroyed) {
    const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
    left -= piece.length;
    if (!res.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  res.end();
}

function handle(name: string, req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('x-real-server', name);
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const bytes = /^\/bytes\/(\d+)$/.exec(path);
  const n = Number(bytes?.[1] ?? 0);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, `${name}: method ${req.method} not allowed\n`);
  } else if (path === '/') {
    send(res, 200, `${name}\n`);
  } else if (path === '/health') {
    send(res, 200, 'ok\n');
  } else if (!bytes) {
    send(res, 404, `${name}: no such path ${path}\n`);
  } else if (n > MAX_BYTES) {
    send(res, 400, `${name}: /bytes/${bytes[1]} exceeds the limit ${MAX_BYTES}\n`);
  } else if (req.method === 'HEAD') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
    res.end();
  } else {
    void streamBytes(res, n);
  }
}

/** An HTTP server answering as `name`; not yet listening. */
export function createRealServer(name: string): Server {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
    throw new TypeError(`real server name "${name}" is not usable: 1-64 of A-Z a-z 0-9 . _ -`);
  }
  return createServer((req, res) => handle(name, req, res));
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`real server --port "${text}" is not a port number (0-65535)`);
  }
  return port;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      port: { type: 'string', default: '80' },
      host: { type: 'string', default: '0.0.0.0' },
      'pid-file': { type: 'string' },
      testbed: { type: 'string' },
    },
    strict: true,
  });
  const name = values.name;
  if (name === undefined) throw new TypeError('real server needs --name <name>');
  // Several ports serve from one process (one heap, one JIT), so benchmarks comparing paths compare paths.
  const ports = values.port.split(',').map(parsePort);
  const servers = ports.map(() => createRealServer(name));
  await Promise.all(
    servers.map(
      (server, i) =>
        new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(ports[i], values.host, resolve);
        }),
    ),
  );
  const pidFile = values['pid-file'];
  if (pidFile !== undefined) {
    writeFileSync(`${pidFile}.tmp`, `${process.pid}\n`);
    renameSync(`${pidFile}.tmp`, pidFile);
  }
  const stop = (): void => {
    if (pidFile !== undefined) rmSync(pidFile, { force: true });
    for (const server of servers) {
      server.close();
      server.closeAllConnections();
    }
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  for (const server of servers) {
    const { port: bound } = server.address() as AddressInfo;
    console.log(`${name} listening on ${values.host}:${bound}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
