/**
 * A Unix socket speaking JSON lines, one answer per request line: the control sockets of the cluster, the
 * supervisor and the simulated panel. The handler's result is sent as `{"ok": result}`, a thrown error as
 * `{"error": {code, message}}` (its `code`, or `<prefix>_FAILED`); a line that is not JSON gets
 * `<prefix>_BAD_REQUEST`. Bad input is answered, never thrown; a line longer than 64 KiB closes that
 * connection. `controlRequest` (firmware/cluster/control.ts) is the client.
 */
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';

export interface JsonLinesServer {
  readonly path: string;
  close(): Promise<void>;
}

const MAX_LINE = 64 * 1024;

export type JsonLinesHandler = (request: unknown) => unknown;

async function answer(handler: JsonLinesHandler, codes: string, line: string): Promise<unknown> {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return { error: { code: `${codes}_BAD_REQUEST`, message: `not JSON: ${line.slice(0, 80)}` } };
  }
  try {
    return { ok: (await handler(request)) ?? null };
  } catch (err) {
    const code =
      typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : `${codes}_FAILED`;
    return { error: { code, message: err instanceof Error ? err.message : String(err) } };
  }
}

/** Serves `handler` on `path` (replacing a stale socket file); `codes` prefixes the error codes it makes. */
export function serveJsonLines(
  path: string,
  codes: string,
  handler: JsonLinesHandler,
): Promise<JsonLinesServer> {
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
        void answer(handler, codes, line).then((a) => {
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
      let closing: Promise<void> | undefined;
      resolve({
        path,
        close: () => {
          closing ??= new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => {
              rmSync(path, { force: true });
              done();
            });
          });
          return closing;
        },
      });
    });
  });
}
