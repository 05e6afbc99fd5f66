/**
 * A farm of test servers in one process, run inside a testbed namespace
 * (`ip netns exec <ns> node --import tsx farm.ts`), driven by JSON lines on stdin, answering one JSON line
 * per command on stdout ({ id, ok, error? }). Commands:
 *   { op: 'listen', host, ports: [..], mode: 'http' | 'https' | 'tcp', cert?, key? }
 *   { op: 'close', ports: [..] }                      stop listening (connections are refused)
 *   { op: 'behave', port, status?, body?, delayMs?, close?, resetReused? }
 *                                                     how an http(s) port answers (default 200 "farm <port>");
 *                                                     close: with "Connection: close"; resetReused: a
 *                                                     second request on a connection gets a reset
 *   { op: 'count', port }                             → { connections }: TCP connections accepted so far
 *   { op: 'dns', host, port }                         a DNS server on UDP
 *   { op: 'records', name, type, data: [..], rcode? } what it answers for name/type
 * Answers end with "host=<Host header>" and, over TLS, "sni=<server name>" (also in x-host, x-sni). The process
 * ends when stdin closes.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createTcp, type Server as TcpServer } from 'node:net';
import { createInterface } from 'node:readline';
import type { TLSSocket } from 'node:tls';
import { decodeMessage, encodeResponse, RECORD_TYPES } from '../../../firmware/monitor/checks/dns-codec.ts';

interface Behaviour {
  status: number;
  body: string | undefined;
  delayMs: number;
  close: boolean;
  resetReused: boolean;
}

const PLAIN: Behaviour = { status: 200, body: undefined, delayMs: 0, close: false, resetReused: false };

const servers = new Map<number, Server | TcpServer>();
const behaviours = new Map<number, Behaviour>();
const records = new Map<string, { data: string[]; rcode: number }>();
const udp: UdpSocket[] = [];
const accepted = new Map<number, number>();
const requestsOn = new WeakMap<object, number>();

function handler(port: number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const b = behaviours.get(port) ?? PLAIN;
    const n = (requestsOn.get(req.socket) ?? 0) + 1;
    requestsOn.set(req.socket, n);
    if (b.resetReused && n > 1) {
      // A TLS socket has no reset (its handle is the TLS layer): it is closed.
      if ('encrypted' in req.socket) req.socket.destroy();
      else req.socket.resetAndDestroy();
      return;
    }
    const sni = (req.socket as TLSSocket).servername;
    const body = `${b.body ?? `farm ${port}`} host=${req.headers.host ?? ''}${typeof sni === 'string' ? ` sni=${sni}` : ''}\n`;
    const send = (): void => {
      if (res.destroyed) return;
      res.writeHead(b.status, {
        'content-type': 'text/plain',
        'content-length': Buffer.byteLength(body),
        'x-host': req.headers.host ?? '',
        ...(typeof sni === 'string' ? { 'x-sni': sni } : {}),
        ...(b.close ? { connection: 'close' } : {}),
      });
      res.end(body);
    };
    if (b.delayMs > 0) setTimeout(send, b.delayMs);
    else send();
  };
}

async function listen(host: string, port: number, mode: string, cert?: string, key?: string): Promise<void> {
  if (servers.has(port)) return;
  let server: Server | TcpServer;
  if (mode === 'tcp') {
    server = createTcp((socket) => {
      socket.on('error', () => undefined);
      socket.end();
    });
  } else if (mode === 'https') {
    server = createHttps({ cert, key }, handler(port));
  } else {
    server = createHttp(handler(port));
  }
  server.on('connection', () => accepted.set(port, (accepted.get(port) ?? 0) + 1));
  server.on('clientError', (_err: unknown, socket: { destroy(): void }) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: 1024 }, () => resolve());
  });
  servers.set(port, server);
}

async function close(port: number): Promise<void> {
  const server = servers.get(port);
  if (!server) return;
  servers.delete(port);
  if ('closeAllConnections' in server) server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function dnsServer(host: string, port: number): Promise<void> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, from) => {
    const decoded = decodeMessage(msg);
    if (!decoded.ok) return;
    const q = decoded.message.questions[0];
    if (!q) return;
    const type = Object.entries(RECORD_TYPES).find(([, v]) => v === q.type)?.[0] ?? String(q.type);
    const entry = records.get(`${q.name.toLowerCase()}/${type}`);
    const answer = entry
      ? {
          rcode: entry.rcode,
          records: entry.data.map((data) => ({ name: q.name, type: q.type, ttl: 60, data })),
        }
      : { rcode: 3, records: [] };
    socket.send(encodeResponse(decoded.message, answer), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(port, host, () => resolve()));
  udp.push(socket);
}

type Command =
  | { id: number; op: 'listen'; host: string; ports: number[]; mode: string; cert?: string; key?: string }
  | { id: number; op: 'close'; ports: number[] }
  | {
      id: number;
      op: 'behave';
      port: number;
      status?: number;
      body?: string;
      delayMs?: number;
      close?: boolean;
      resetReused?: boolean;
    }
  | { id: number; op: 'count'; port: number }
  | { id: number; op: 'dns'; host: string; port: number }
  | { id: number; op: 'records'; name: string; type: string; data: string[]; rcode?: number };

async function perform(cmd: Command): Promise<object | undefined> {
  switch (cmd.op) {
    case 'listen':
      for (const port of cmd.ports) await listen(cmd.host, port, cmd.mode, cmd.cert, cmd.key);
      return;
    case 'close':
      await Promise.all(cmd.ports.map(close));
      return;
    case 'behave':
      behaviours.set(cmd.port, {
        status: cmd.status ?? 200,
        body: cmd.body,
        delayMs: cmd.delayMs ?? 0,
        close: cmd.close ?? false,
        resetReused: cmd.resetReused ?? false,
      });
      return;
    case 'count':
      return { connections: accepted.get(cmd.port) ?? 0 };
    case 'dns':
      await dnsServer(cmd.host, cmd.port);
      return;
    case 'records':
      records.set(`${cmd.name.toLowerCase()}/${cmd.type}`, { data: cmd.data, rcode: cmd.rcode ?? 0 });
      return;
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const cmd = JSON.parse(line) as Command;
  perform(cmd).then(
    (extra) => process.stdout.write(`${JSON.stringify({ id: cmd.id, ok: true, ...extra })}\n`),
    (err: unknown) =>
      process.stdout.write(`${JSON.stringify({ id: cmd.id, ok: false, error: String(err) })}\n`),
  );
});
lines.on('close', () => {
  for (const s of servers.values()) {
    if ('closeAllConnections' in s) s.closeAllConnections();
    s.close();
  }
  for (const s of udp) s.close();
  process.exit(0);
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
