import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { builtinBoard } from '../../board/load.ts';
import { Collector } from '../../firmware/metrics/collector.ts';
import { CONTENT_TYPE } from '../../firmware/metrics/exposition.ts';
import { type MetricsServer, parseListen, startMetricsServer } from '../../firmware/metrics/server.ts';
import { clusterSocketSource, supervisorSocketSource } from '../../firmware/metrics/sources.ts';
import { LinuxClock } from '../../hal/clock/linux.ts';
import { answeringSocket, clusterStatus, socketDir, supervisorStatus } from './fixtures.ts';
import { parseExposition, sampleValue } from './parse.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}

// ---
const listen = suite('parseListen');

listen('host:port, [v6]:port, :port and a bare port', () => {
  assert.equal(parseListen('127.0.0.1:9100'), { host: '127.0.0.1', port: 9100 });
  assert.equal(parseListen('[::1]:80'), { host: '::1', port: 80 });
  assert.equal(parseListen(':9100'), { host: '0.0.0.0', port: 9100 });
  assert.equal(parseListen('9100'), { host: '0.0.0.0', port: 9100 });
  for (const bad of ['', 'host', 'host:', 'host:70000', '1.2.3.4:-1', '::1:80', 'a:b']) {
    assert.throws(
      () => parseListen(bad),
      (e: unknown) => e instanceof RangeError && e.message.includes(JSON.stringify(bad)),
      bad,
    );
  }
});

listen.run();

// ---
interface Ctx {
  dir: ReturnType<typeof socketDir>;
  server: MetricsServer | undefined;
  closers: (() => Promise<void>)[];
}
const web = suite<Ctx>('the metrics port', { dir: socketDir(), server: undefined, closers: [] });

web.before(async (ctx) => {
  const cluster = await answeringSocket(ctx.dir.path('cluster.sock'), () => clusterStatus());
  const sup = await answeringSocket(ctx.dir.path('supervisor.sock'), () => supervisorStatus());
  const collector = new Collector({
    clock: new LinuxClock(),
    node: 'a',
    timeoutMs: 200,
    sources: {
      cluster: clusterSocketSource(cluster.path),
      supervisor: supervisorSocketSource(sup.path),
      journal: () => new Promise(() => {}),
    },
  });
  ctx.server = await startMetricsServer(collector, { host: '127.0.0.1', port: 0 });
  ctx.closers.push(
    () => cluster.close(),
    () => sup.close(),
  );
});

web.after(async (ctx) => {
  await ctx.server?.close();
  for (const close of ctx.closers) await close();
  ctx.dir.cleanup();
});

web('/metrics is the text exposition, with a hung source reported down', async (ctx) => {
  const r = await http(ctx.server?.port ?? 0, '/metrics');
  assert.is(r.status, 200);
  assert.is(r.headers['content-type'], CONTENT_TYPE);
  const parsed = parseExposition(r.body);
  assert.is(sampleValue(parsed, 'tandem_source_up', { source: 'cluster' }), 1);
  assert.is(sampleValue(parsed, 'tandem_source_up', { source: 'journal' }), 0);
  assert.is(sampleValue(parsed, 'tandem_cluster_role', { role: 'ACTIVE' }), 1);
  assert.is(
    sampleValue(parsed, 'tandem_supervisor_service_state', { service: 'cluster', state: 'running' }),
    1,
  );
});

web('/status.json, the page, HEAD, 404 and a refused POST', async (ctx) => {
  const port = ctx.server?.port ?? 0;
  const json = await http(port, '/status.json');
  assert.is(json.status, 200);
  assert.is(json.headers['content-type'], 'application/json');
  const snap = JSON.parse(json.body) as {
    node: string;
    cluster: { role: string };
    sources: Record<string, { up: boolean }>;
  };
  assert.is(snap.node, 'a');
  assert.is(snap.cluster.role, 'ACTIVE');
  assert.is(snap.sources.journal?.up, false);
  const page = await http(port, '/');
  assert.is(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(page.body, /<script>/);
  assert.not.match(page.body, /(src|href)="https?:/, 'no external assets');
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
  const head = await http(port, '/metrics', 'HEAD');
  assert.is(head.status, 200);
  assert.is(head.body, '');
  assert.is((await http(port, '/nope')).status, 404);
  const post = await http(port, '/metrics', 'POST');
  assert.is(post.status, 405);
  assert.is(post.headers.allow, 'GET, HEAD');
});

web('ten scrapes at once all answer within the time limit', async (ctx) => {
  const port = ctx.server?.port ?? 0;
  const started = Date.now();
  const replies = await Promise.all(Array.from({ length: 10 }, () => http(port, '/metrics')));
  assert.ok(replies.every((r) => r.status === 200));
  assert.ok(Date.now() - started < 2000);
});

web.run();

// ---
const entry = suite('firmware/metrics/main.ts');

interface Started {
  ready: { ready: boolean; pid: number; listen: string };
  exited: Promise<number | null>;
  kill(): void;
}

function startMain(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'firmware/metrics/main.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ready line within 15 s: ${stderr}`));
    }, 15_000);
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve({
        ready: JSON.parse(line) as Started['ready'],
        exited,
        kill: () => child.kill('SIGTERM'),
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ready: ${stderr}`));
    });
  });
}

entry('serves a board from a file, sees its cluster socket appear, and exits 0 on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tnd-metrics-main-'));
  try {
    const base = builtinBoard('qemu-x86_64');
    const board = {
      ...base,
      nics: { ...base.nics, management: null },
      storage: { ...base.storage, journalPath: join(dir, 'journal.db') },
    };
    writeFileSync(join(dir, 'board.json'), JSON.stringify(board));
    const m = await startMain([
      '--board',
      join(dir, 'board.json'),
      '--listen',
      '127.0.0.1:0',
      '--timeout-ms',
      '300',
    ]);
    try {
      assert.ok(m.ready.ready);
      assert.ok(m.ready.pid > 0);
      const port = Number(m.ready.listen.split(':').pop());
      let parsed = parseExposition((await http(port, '/metrics')).body);
      assert.is(sampleValue(parsed, 'tandem_source_up', { source: 'cluster' }), 0);
      const cluster = await answeringSocket(join(dir, 'cluster.sock'), () =>
        clusterStatus({ role: 'STANDBY' }),
      );
      try {
        parsed = parseExposition((await http(port, '/metrics')).body);
        assert.is(sampleValue(parsed, 'tandem_source_up', { source: 'cluster' }), 1);
        assert.is(sampleValue(parsed, 'tandem_cluster_role', { role: 'STANDBY' }), 1);
      } finally {
        await cluster.close();
      }
    } finally {
      m.kill();
    }
    assert.is(await m.exited, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

entry('a bad --listen or a missing --board exits 2', async () => {
  for (const args of [
    ['--board', 'qemu-x86_64', '--listen', 'nowhere'],
    ['--listen', ':0'],
    ['--board', 'sim'],
  ]) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'firmware/metrics/main.ts', ...args], {
      stdio: 'ignore',
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.is(code, 2, args.join(' '));
  }
});

entry.run();
