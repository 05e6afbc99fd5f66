/**
 * A client that opens one connection to host:port every `everyMs` (bounded in count and time), sends
 * `GET / HTTP/1.0` and waits for the status line, each attempt bounded by `timeoutMs`. Run it inside
 * the client's namespace:
 *
 *   node probe.mjs --target 192.0.2.100:80 --every 10 --count 500 [--timeout 1000]
 *
 * Prints one JSON line per attempt `{ "i", "start", "end", "ok", "err"? }` (times: wall-clock ms with
 * sub-millisecond precision, comparable across processes), then `{ "done": true }`. Stops by itself
 * after the last attempt settles, or at once on SIGTERM (printing what settled).
 */
import { connect } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface Attempt {
  i: number;
  start: number;
  end: number;
  ok: boolean;
  err?: string;
}

const wall = (): number => performance.timeOrigin + performance.now();

function attempt(i: number, host: string, port: number, timeoutMs: number): Promise<Attempt> {
  const start = wall();
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean, err?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ i, start, end: wall(), ok, ...(err === undefined ? {} : { err }) });
    };
    const socket = connect({ host, port });
    const timer = setTimeout(() => done(false, 'timeout'), timeoutMs);
    let got = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    socket.on('data', (d: string) => {
      got += d;
      if (/^HTTP\/1\.[01] 200/.test(got)) done(true);
      else if (got.length >= 12) done(false, `status ${got.slice(0, 12)}`);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message));
    socket.on('close', () => done(false, 'closed'));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      every: { type: 'string', default: '10' },
      count: { type: 'string', default: '100' },
      timeout: { type: 'string', default: '1000' },
    },
    strict: true,
  });
  const m = /^([\d.]+):(\d+)$/.exec(values.target ?? '');
  const every = Number(values.every);
  const count = Number(values.count);
  const timeoutMs = Number(values.timeout);
  if (!m || !(every >= 1) || !(count >= 1 && count <= 100_000) || !(timeoutMs >= 1 && timeoutMs <= 10_000)) {
    throw new TypeError('usage: probe --target ip:port [--every ms] [--count 1..100000] [--timeout ms]');
  }
  const host = m[1] as string;
  const port = Number(m[2]);
  const pending = new Set<Promise<void>>();
  let stopped = false;
  process.once('SIGTERM', () => {
    stopped = true;
  });
  const origin = performance.now();
  for (let i = 0; i < count && !stopped; i++) {
    const wait = origin + i * every - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const p = attempt(i, host, port, timeoutMs).then((a) => {
      process.stdout.write(`${JSON.stringify(a)}\n`);
      pending.delete(p);
    });
    pending.add(p);
  }
  if (!stopped) await Promise.all(pending);
  process.stdout.write(`${JSON.stringify({ done: true })}\n`);
  process.exit(0);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
