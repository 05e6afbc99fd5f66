/**
 * The cluster process's control socket: a Unix socket speaking JSON lines, for the console, the panel
 * and tests. One request per line, one answer per line:
 *
 *   {"op":"status"}                       -> {"ok": <ClusterStatus>}
 *   {"op":"command","command":"failover"} -> {"ok": {"role": "ACTIVE"}}
 *   anything else                         -> {"error": {"code": "...", "message": "..."}}
 *
 * Bad input is answered, never thrown: a line longer than 64 KiB closes that connection.
 */
import { rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Command, Role } from './types.ts';

export interface ControlTarget {
  status(): unknown;
  command(command: Command): Role | Promise<Role>;
}

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

const COMMANDS: readonly string[] = ['failover', 'maintenance-on', 'maintenance-off', 'leave'];
const MAX_LINE = 64 * 1024;

async function answer(target: ControlTarget, line: string): Promise<unknown> {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    return { error: { code: 'CONTROL_BAD_REQUEST', message: `not JSON: ${line.slice(0, 80)}` } };
  }
  const r = (typeof req === 'object' && req !== null ? req : {}) as Record<string, unknown>;
  try {
    if (r.op === 'status') return { ok: await target.status() };
    if (r.op === 'command') {
      if (typeof r.command !== 'string' || !COMMANDS.includes(r.command)) {
        return {
          error: {
            code: 'CONTROL_BAD_REQUEST',
            message: `command should be one of ${COMMANDS.join(', ')}, instead got ${JSON.stringify(r.command)}`,
          },
        };
      }
      return { ok: { role: await target.command(r.command as Command) } };
    }
    return {
      error: {
        code: 'CONTROL_BAD_REQUEST',
        message: `op should be status or command, got ${JSON.stringify(r.op)}`,
      },
    };
  } catch (err) {
    const code =
      typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'CONTROL_FAILED';
    return { error: { code, message: err instanceof Error ? err.message : String(err) } };
  }
}

export function startControl(path: string, target: ControlTarget): Promise<ControlServer> {
  rmSync(path, { force: true });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line !== '') {
          void answer(target, line).then((a) => {
            if (!socket.destroyed) socket.write(`${JSON.stringify(a)}\n`);
          });
        }
      }
      if (buffer.length > MAX_LINE) socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve({
        path,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => {
              rmSync(path, { force: true });
              done();
            });
          }),
      });
    });
  });
}

/** One request to a control socket; rejects on a connection error or after `timeoutMs`. */
export function controlRequest(path: string, request: unknown, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`control ${path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      try {
        resolve(JSON.parse(buffer.slice(0, nl)));
      } catch (err) {
        reject(err);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
