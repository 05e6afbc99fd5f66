/**
 * The metrics port: `/metrics` (Prometheus text), `/status.json` (the same reading as JSON) and `/` (the
 * read-only status page). Read-only: anything but GET or HEAD is refused. Each request takes a fresh
 * reading (overlapping requests share one), bounded by the collector's per-source time limits.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Collector } from './collector.ts';
import { CONTENT_TYPE, render } from './exposition.ts';
import { families } from './families.ts';
import { statusPage } from './page.ts';

export interface Listen {
  readonly host: string;
  readonly port: number;
}

export const DEFAULT_PORT = 9100;

/** `host:port`, `[v6]:port`, `:port` or `port` (all addresses). Throws RangeError naming the value. */
export function parseListen(text: string): Listen {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`--listen should be host:port (port 0..65535), instead got ${JSON.stringify(text)}`);
  }
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export interface MetricsServer {
  /** The bound address (`host:port`; `[v6]:port`). */
  readonly listen: string;
  readonly port: number;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
};

export type ServerLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export async function startMetricsServer(
  collector: Collector,
  listen: Listen,
  options: { log?: ServerLog; title?: string } = {},
): Promise<MetricsServer> {
  const page = statusPage(options.title ?? 'Tandem');
  const send = (req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': type,
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(req, res, 405, 'text/plain; charset=utf-8', 'read-only: GET or HEAD\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      send(req, res, 200, CONTENT_TYPE, render(families(await collector.collect())));
    } else if (path === '/status.json') {
      send(req, res, 200, 'application/json', JSON.stringify(await collector.collect()));
    } else if (path === '/' || path === '/index.html') {
      send(req, res, 200, 'text/html; charset=utf-8', page);
    } else {
      send(req, res, 404, 'text/plain; charset=utf-8', `not found: ${path}\n`);
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.log?.('error', `${req.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) send(req, res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  let closing: Promise<void> | undefined;
  return {
    listen: `${host}:${bound.port}`,
    port: bound.port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
