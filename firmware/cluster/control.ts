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
import { createConnection } from 'node:net';
import { type JsonLinesServer, serveJsonLines } from '../runtime/jsonl-server.ts';
import type { Command, Role } from './types.ts';

export interface ControlTarget {
  status(): unknown;
  command(command: Command): Role | Promise<Role>;
}

export type ControlServer = JsonLinesServer;

const COMMANDS: readonly string[] = ['failover', 'maintenance-on', 'maintenance-off', 'leave'];
const bad = (message: string): Error & { code: string } =>
  Object.assign(new Error(message), { code: 'CONTROL_BAD_REQUEST' });

async function answer(target: ControlTarget, request: unknown): Promise<unknown> {
  const r = (typeof request === 'object' && request !== null ? request : {}) as Record<string, unknown>;
  if (r.op === 'status') return target.status();
  if (r.op === 'command') {
    if (typeof r.command !== 'string' || !COMMANDS.includes(r.command)) {
      throw bad(`command should be one of ${COMMANDS.join(', ')}, instead got ${JSON.stringify(r.command)}`);
    }
    return { role: await target.command(r.command as Command) };
  }
  throw bad(`op should be status or command, got ${JSON.stringify(r.op)}`);
}

export function startControl(path: string, target: ControlTarget): Promise<ControlServer> {
  return serveJsonLines(path, 'CONTROL', (request) => answer(target, request));
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
