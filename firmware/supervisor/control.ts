/**
 * The supervisor's control socket: a Unix socket speaking JSON lines, one request per line, one answer
 * per line (the cluster's protocol; `controlRequest` from firmware/cluster/control.ts is the client):
 *
 *   {"op":"status"}                       -> {"ok": SupervisorStatus}
 *   {"op":"restart","service":"monitor"}  -> {"ok": {"service": "monitor"}}
 *   {"op":"reboot"}                       -> {"ok": {"rebooting": true}} (then stop all in order, start again)
 *   {"op":"factory-reset"}                -> {"ok": {"movedTo": "<dir>/factory-reset-<iso time>"}}
 *   {"op":"shutdown"}                     -> {"ok": {"stopping": true}} (then the ordered stop)
 *   anything else                         -> {"error": {"code": "SUPERVISOR_BAD_REQUEST", "message": "..."}}
 *
 * Bad input is answered, never thrown; a line longer than 64 KiB closes that connection.
 */
import { type JsonLinesServer, serveJsonLines } from '../runtime/jsonl-server.ts';
import { SupervisorError } from './errors.ts';

export interface SupervisorTarget {
  status(): unknown;
  restart(service: string): void;
  factoryReset(): Promise<{ movedTo: string }>;
  reboot(): Promise<void>;
  shutdown(): void;
}

export type ControlServer = JsonLinesServer;

const OPS = ['status', 'restart', 'reboot', 'factory-reset', 'shutdown'];

const bad = (message: string): SupervisorError => new SupervisorError('SUPERVISOR_BAD_REQUEST', message);

async function answer(target: SupervisorTarget, request: unknown): Promise<unknown> {
  const r = (typeof request === 'object' && request !== null ? request : {}) as Record<string, unknown>;
  switch (r.op) {
    case 'status':
      return target.status();
    case 'restart':
      if (typeof r.service !== 'string') throw bad('restart needs "service": the name of a service');
      target.restart(r.service);
      return { service: r.service };
    case 'reboot':
      // Answered at once: the console that asks is one of the services being stopped.
      setImmediate(() => void target.reboot().catch(() => {}));
      return { rebooting: true };
    case 'factory-reset':
      return target.factoryReset();
    case 'shutdown':
      setImmediate(() => target.shutdown());
      return { stopping: true };
    default:
      throw bad(`op should be one of ${OPS.join(', ')}, instead got ${JSON.stringify(r.op)}`);
  }
}

export function startSupervisorControl(path: string, target: SupervisorTarget): Promise<ControlServer> {
  return serveJsonLines(path, 'SUPERVISOR', (request) => answer(target, request));
}
