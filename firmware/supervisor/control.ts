/**
 * The supervisor's control socket: a Unix socket speaking JSON lines, one request per line, one answer
 * per line (the cluster's protocol; `controlRequest` from firmware/cluster/control.ts is the client):
 *
 *   {"op":"status"}                       -> {"ok": SupervisorStatus}
 *   {"op":"restart","service":"monitor"}  -> {"ok": {"service": "monitor"}}
 *   {"op":"factory-reset"}                -> {"ok": {"movedTo": "<dir>/factory-reset-<iso time>"}}
 *   {"op":"shutdown"}                     -> {"ok": {"stopping": true}} (then the ordered stop)
 *   anything else                         -> {"error": {"code": "SUPERVISOR_BAD_REQUEST", "message": "..."}}
 *
 * Bad input is answered, never thrown; a line longer than 64 KiB closes that connection.
 */
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { SupervisorError } from './errors.ts';

export interface SupervisorTarget {
  status(): unknown;
  restart(service: string): void;
  factoryReset(): Promise<{ movedTo: string }>;
  reboot(): Promise<void>;
  shutdown(): void;
}

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

const MAX_LINE = 64 * 1024;
const OPS = ['status', 'restart', 'reboot', 'factory-reset', 'shutdown'];

const bad = (message: string): SupervisorError => new SupervisorError('SUPERVISOR_BAD_REQUEST', message);

async function answer(target: SupervisorTarget, line: string): Promise<unknown> {
  try {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch {
      throw bad(`not JSON: ${line.slice(0, 80)}`);
    }
    const r = (typeof req === 'object' && req !== null ? req : {}) as Record<string, unknown>;
    switch (r.op) {
      case 'status':
        return { ok: target.status() };
      case 'restart':
        if (typeof r.service !== 'string') throw bad('restart needs "service": the name of a service');
        target.restart(r.service);
        return { ok: { service: r.service } };
      case 'reboot':
        // Answered at once: the console that asks is one of the services being stopped.
        setImmediate(() => void target.reboot().catch(() => {}));
        return { ok: { rebooting: true } };
      case 'factory-reset':
        return { ok: await target.factoryReset() };
      case 'shutdown':
        setImmediate(() => target.shutdown());
        return { ok: { stopping: true } };
      default:
        throw bad(`op should be one of ${OPS.join(', ')}, instead got ${JSON.stringify(r.op)}`);
    }
  } catch (err) {
    const code =
      typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'SUPERVISOR_FAILED';
    return { error: { code, message: err instanceof Error ? err.message : String(err) } };
  }
}

export function startSupervisorControl(path: string, target: SupervisorTarget): Promise<ControlServer> {
  rmSync(path, { force: true });
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === '') continue;
        void answer(target, line).then((a) => {
          if (!socket.destroyed) socket.write(`${JSON.stringify(a)}\n`);
        });
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
