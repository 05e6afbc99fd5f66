/**
 * The demo's client: inside the client namespace, one HTTP GET to the VIP every `everyMs` on a new
 * connection (so the balancer spreads them), for at most `seconds`. Every second it prints one JSON line
 * `{ "ok": n, "failed": n, "byServer": { "rs1": n, ... } }` for that second (a real server answers with
 * its name). SIGTERM stops it at once.
 *
 *   node --import tsx scripts/lib/demo-load.ts --target 192.0.2.100:80 [--every 20] [--seconds 600]
 */
import { request } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    every: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '600' },
  },
  strict: true,
});
const [host, portText] = (values.target ?? '').split(':');
const everyMs = Number(values.every);
const seconds = Number(values.seconds);
if (!host || !Number(portText) || !(everyMs >= 1) || !(seconds > 0)) {
  process.stderr.write('usage: demo-load.ts --target host:port [--every ms] [--seconds s]\n');
  process.exit(2);
}

let window = { ok: 0, failed: 0, byServer: {} as Record<string, number> };

function get(): void {
  const req = request({ host, port: Number(portText), path: '/', agent: false, timeout: 1000 }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      body += chunk;
    });
    res.on('end', () => {
      if (res.statusCode !== 200) {
        window.failed += 1;
        return;
      }
      window.ok += 1;
      const name = body.trim() || '?';
      window.byServer[name] = (window.byServer[name] ?? 0) + 1;
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => {
    window.failed += 1;
  });
  req.end();
}

const ticker = setInterval(get, everyMs);
const reporter = setInterval(() => {
  process.stdout.write(`${JSON.stringify(window)}\n`);
  window = { ok: 0, failed: 0, byServer: {} };
}, 1000);
const stop = (): void => {
  clearInterval(ticker);
  clearInterval(reporter);
  setTimeout(() => process.exit(0), 50);
};
setTimeout(stop, seconds * 1000);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
