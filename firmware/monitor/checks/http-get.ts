/**
 * The shared part of the HTTP and HTTPS checks: the spec fields they have in common and one GET (or HEAD)
 * on a fresh connection (plain or TLS), read with ResponseReader and judged on status code, body regex and
 * body digest. The connection is closed as soon as the answer is judged.
 */
import { createHash } from 'node:crypto';
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { z } from 'zod';
import { type ReadOutcome, ResponseReader } from './http-response.ts';
import type { IdleConnections } from './idle-connections.ts';
import { closeHard, Stopwatch, socketReason } from './net-util.ts';
import { available, type ExchangeOwner, TcpExchange } from './tcp-handle.ts';
import type { CheckTarget, ProbeResult, RunContext } from './types.ts';

const STATUS_RANGE = /^([1-5]\d\d)-([1-5]\d\d)$/;
const DIGEST = /^(md5|sha1|sha256):([0-9a-f]+)$/;
const DIGEST_HEX_LENGTH: Record<string, number> = { md5: 32, sha1: 40, sha256: 64 };

const status = z.union(
  [
    z.number({ error: 'expected a status code 100..599 or a range like "200-299"' }).int().min(100).max(599),
    z.string().refine((s) => {
      const m = STATUS_RANGE.exec(s);
      return m !== null && Number(m[1]) <= Number(m[2]);
    }, 'expected a status code 100..599 or a range like "200-299"'),
  ],
  { error: 'expected a status code 100..599 or a range like "200-299"' },
);

const regex = z.string().transform((source, ctx) => {
  try {
    return new RegExp(source);
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      message: `not a valid regular expression (${(err as Error).message})`,
      input: source,
    });
    return z.NEVER;
  }
});

const digest = z.string().refine((s) => {
  const m = DIGEST.exec(s);
  return m !== null && m[2]?.length === DIGEST_HEX_LENGTH[m[1] ?? ''];
}, 'expected "<md5|sha1|sha256>:<hex digest of that length>" in lower case');

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name');

export const httpFields = {
  /** Probe this port instead of the real server's. */
  port: z.number().int().min(1).max(65535).optional(),
  method: z.enum(['GET', 'HEAD']).default('GET'),
  path: z
    .string()
    .regex(/^\/[^\s]*$/, 'expected a path starting with "/" and without white space')
    .default('/'),
  /** The Host header; default: the server's address (and port when not the scheme's default). */
  host: z
    .string()
    .regex(/^[A-Za-z0-9.:[\]-]+$/, 'expected a host name or address')
    .optional(),
  /** Expected status codes and ranges ("200-299"). Default: 200-299. */
  expectStatus: z.array(status).min(1, 'expected at least one status code').default(['200-299']),
  /** The body must match this regular expression (JavaScript syntax). */
  bodyRegex: regex.optional(),
  /** The whole body must hash to this: "md5:<hex>", "sha1:<hex>" or "sha256:<hex>". */
  bodyDigest: digest.optional(),
  /** Bodies longer than this fail when a regex or digest is to be checked. */
  maxBodyBytes: z
    .number()
    .int()
    .min(1)
    .max(16 * 1024 * 1024)
    .default(64 * 1024),
  /**
   * Keep the connection open for the next probe instead of a new one each time (Envoy's default; off as
   * in keepalived and HAProxy, since a probe on an old connection cannot see that the server stopped
   * accepting new ones).
   */
  keepAlive: z.boolean().default(false),
  /** Extra request headers. */
  headers: z
    .record(headerName, z.string().regex(/^[^\r\n]*$/, 'expected a header value without line breaks'))
    .default({}),
};

export interface HttpSpec {
  port?: number | undefined;
  /** Keep the connection for the next probe (see idle-connections.ts). */
  keepAlive: boolean;
  method: 'GET' | 'HEAD';
  path: string;
  host?: string | undefined;
  expectStatus: (number | string)[];
  bodyRegex?: RegExp | undefined;
  bodyDigest?: string | undefined;
  maxBodyBytes: number;
  headers: Record<string, string>;
}

export interface TlsOptions {
  servername: string | undefined;
  verify: boolean;
  /** The CA to verify against (read from caFile), else the system's. */
  ca: Buffer | undefined;
  caFile: string | undefined;
}

export function statusAccepted(code: number, expected: readonly (number | string)[]): boolean {
  for (const e of expected) {
    if (typeof e === 'number') {
      if (code === e) return true;
    } else {
      const m = STATUS_RANGE.exec(e);
      if (m && code >= Number(m[1]) && code <= Number(m[2])) return true;
    }
  }
  return false;
}

/** The Host header for a target: the configured one, else the address (bracketed IPv6) with a non-default port. */
export function hostHeader(spec: HttpSpec, target: CheckTarget, defaultPort: number): string {
  if (spec.host !== undefined) return spec.host;
  const port = spec.port ?? target.port;
  const address = isIP(target.address) === 6 ? `[${target.address}]` : target.address;
  return port === defaultPort ? address : `${address}:${port}`;
}

/** The host name part of a Host header, when it is a name (SNI is never an address). */
export function sniFromHost(host: string): string | undefined {
  const name = host.startsWith('[') ? host : host.replace(/:\d+$/, '');
  return isIP(name) === 0 && !name.startsWith('[') ? name : undefined;
}

/** The request bytes: GET/HEAD with Host, Connection: close (unless kept alive) and the extra headers. */
export function requestText(spec: HttpSpec, host: string): string {
  let text = `${spec.method} ${spec.path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: tandem-monitor\r\n`;
  if (!spec.keepAlive) text += 'Connection: close\r\n';
  for (const [name, value] of Object.entries(spec.headers)) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}

interface Request {
  readonly spec: HttpSpec;
  readonly host: string;
  readonly text: string;
  /** Where the connection goes: the key of kept-alive connections. */
  readonly origin: string;
}

/** The request for a target, made once per target and spec (targets live as long as their check). */
const requests = new WeakMap<CheckTarget, Request>();

function requestFor(spec: HttpSpec, target: CheckTarget, defaultPort: number): Request {
  const cached = requests.get(target);
  if (cached !== undefined && cached.spec === spec) return cached;
  const host = hostHeader(spec, target, defaultPort);
  const origin = `${target.address} ${spec.port ?? target.port}`;
  const made = { spec, host, text: requestText(spec, host), origin };
  requests.set(target, made);
  return made;
}

/** One request on a fresh connection; resolves with a judged result and never rejects. */
export function httpProbe(
  target: CheckTarget,
  spec: HttpSpec,
  context: RunContext,
  tls: TlsOptions | undefined,
): Promise<ProbeResult> {
  if (tls === undefined && available()) {
    return new Promise((resolve) => new PlainHttpProbe(target, spec, context, resolve));
  }
  return new Promise((resolve) => new SocketHttpProbe(target, spec, context, tls, resolve));
}

/**
 * One request and its judged answer, whatever carries it: the response reader, keepAlive's hand-back to
 * the pool, and the one retry of a reused connection that gave out before any byte of the answer (the
 * server dropped it while idle), on a fresh connection within the same probe, as browsers do. A class
 * per kind of connection opens, resumes, keeps and closes it (no closures made per probe).
 */
abstract class RequestProbe<C> {
  protected readonly watch: Stopwatch;
  protected readonly reader: ResponseReader;
  protected readonly pool: IdleConnections | undefined;
  protected connection: C | undefined;
  /** The connection came from the pool and has not answered yet. */
  private reused = false;
  private done = false;

  constructor(
    protected readonly spec: HttpSpec,
    protected readonly context: RunContext,
    protected readonly url: string,
    protected readonly origin: string,
    private readonly resolve: (r: ProbeResult) => void,
  ) {
    this.watch = new Stopwatch(context.drivers.clock);
    this.pool = spec.keepAlive ? context.drivers.connections : undefined;
    this.reader = readerFor(spec, this.pool !== undefined);
  }

  /** A new connection (into `connection`) that sends the request once connected. */
  protected abstract open(): void;
  /** Makes `waiting` (from the pool) the connection and sends the request on it. */
  protected abstract resume(waiting: C): void;
  /** Leaves the connection waiting in the pool. */
  protected abstract keep(c: C): void;
  protected abstract close(c: C): void;

  /** Starts on `waiting` when the pool had one, else on a new connection. */
  protected begin(waiting: C | undefined): void {
    if (waiting === undefined) {
      this.open();
    } else {
      this.reused = true;
      this.resume(waiting);
    }
    if (!this.done) this.context.onAbort(this.onAbort);
  }

  protected finish(result: ProbeResult, keep = false): void {
    if (this.done) return;
    this.done = true;
    const c = this.connection;
    if (c !== undefined) {
      if (keep && this.pool !== undefined) this.keep(c);
      else this.close(c);
    }
    this.context.onAbort(undefined);
    this.resolve(result);
  }

  /** A reused connection gave out before answering: true when the request went on a fresh one. */
  protected reconnect(): boolean {
    if (!this.reused || this.done) return false;
    this.reused = false;
    if (this.connection !== undefined) this.close(this.connection);
    this.open();
    return true;
  }

  protected answered(bytes: Buffer): void {
    this.reused = false;
    this.judge(this.reader.push(bytes));
  }

  protected judge(outcome: ReadOutcome): void {
    if (outcome.state === 'more') return;
    const keep = outcome.state === 'done' && outcome.reusable;
    this.finish(judgeResponse(outcome, this.spec, this.url, this.watch), keep);
  }

  private readonly onAbort = (): void => this.finish(this.watch.fail(`${this.url}: timed out`));
}

/** Plain HTTP on a bare TCP handle. */
class PlainHttpProbe extends RequestProbe<TcpExchange> implements ExchangeOwner {
  private readonly request: Request;

  constructor(
    private readonly target: CheckTarget,
    spec: HttpSpec,
    context: RunContext,
    resolve: (r: ProbeResult) => void,
  ) {
    const request = requestFor(spec, target, 80);
    super(spec, context, `http://${request.host}${spec.path}`, request.origin, resolve);
    this.request = request;
    this.begin(this.pool?.takeExchange(request.origin, this));
  }

  protected open(): void {
    this.connection = new TcpExchange(this.target.address, this.spec.port ?? this.target.port, this);
  }

  protected resume(waiting: TcpExchange): void {
    this.connection = waiting;
    waiting.send(this.request.text);
  }

  protected keep(c: TcpExchange): void {
    this.pool?.put(this.origin, c);
  }

  protected close(c: TcpExchange): void {
    c.close();
  }

  connected(): string {
    return this.request.text;
  }

  data(bytes: Buffer): void {
    this.answered(bytes);
  }

  ended(): void {
    if (this.reconnect()) return;
    this.judge(this.reader.end());
    this.finish(this.watch.fail(`${this.url}: connection closed early`));
  }

  failed(code: string): void {
    if (!this.reconnect()) this.finish(this.watch.fail(`${this.url}: ${code}`));
  }
}

function readerFor(spec: HttpSpec, keepAlive: boolean): ResponseReader {
  return new ResponseReader({
    wantBody: spec.method === 'GET' && (spec.bodyRegex !== undefined || spec.bodyDigest !== undefined),
    maxBodyBytes: spec.maxBodyBytes,
    head: spec.method === 'HEAD',
    keepAlive,
  });
}

function judgeResponse(outcome: ReadOutcome, spec: HttpSpec, url: string, watch: Stopwatch): ProbeResult {
  if (outcome.state === 'error') return watch.fail(`${url}: ${outcome.error}`);
  if (outcome.state === 'more') return watch.fail(`${url}: connection closed early`);
  if (!statusAccepted(outcome.status, spec.expectStatus)) {
    return watch.fail(`${url} answered ${outcome.status}, expected ${spec.expectStatus.join(', ')}`);
  }
  return judgeBody(outcome.body, spec, url, outcome.status, watch);
}

/** The same on a net.Socket or a TLS socket (HTTPS, or plain HTTP on a Node without the tcp_wrap binding). */
class SocketHttpProbe extends RequestProbe<Socket> {
  private readonly request: string;
  private readonly port: number;

  constructor(
    private readonly target: CheckTarget,
    spec: HttpSpec,
    context: RunContext,
    private readonly tls: TlsOptions | undefined,
    resolve: (r: ProbeResult) => void,
  ) {
    const port = spec.port ?? target.port;
    const host = hostHeader(spec, target, tls ? 443 : 80);
    // A TLS connection is only shared by checks that would have set it up the same way.
    const trust = tls?.verify ? (tls.caFile ?? 'system CAs') : 'unverified';
    const origin = tls
      ? `${target.address} ${port} tls ${tls.servername ?? ''} ${trust}`
      : `${target.address} ${port}`;
    super(spec, context, `${tls ? 'https' : 'http'}://${host}${spec.path}`, origin, resolve);
    this.port = port;
    this.request = requestText(spec, host);
    this.begin(this.pool?.takeSocket(origin));
  }

  protected open(): void {
    const { tls, target } = this;
    const socket = tls
      ? tlsConnect({
          host: target.address,
          port: this.port,
          ...(tls.servername === undefined ? {} : { servername: tls.servername }),
          rejectUnauthorized: tls.verify,
          ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        })
      : connect({ host: target.address, port: this.port });
    socket.once(tls ? 'secureConnect' : 'connect', this.onConnect);
    this.attach(socket);
  }

  protected resume(waiting: Socket): void {
    this.attach(waiting);
    waiting.write(this.request);
  }

  protected keep(c: Socket): void {
    this.detach(c);
    this.pool?.put(this.origin, c);
  }

  protected close(c: Socket): void {
    this.detach(c);
    closeHard(c);
  }

  private attach(socket: Socket): void {
    this.connection = socket;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private detach(socket: Socket): void {
    socket.off(this.tls ? 'secureConnect' : 'connect', this.onConnect);
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('error', this.onError);
    socket.off('close', this.onClose);
  }

  private readonly onConnect = (): void => {
    this.connection?.write(this.request);
  };

  private readonly onData = (chunk: Buffer): void => this.answered(chunk);

  private readonly onEnd = (): void => {
    if (!this.reconnect()) this.judge(this.reader.end());
  };

  private readonly onError = (err: Error): void => {
    if (!this.reconnect()) this.finish(this.watch.fail(`${this.url}: ${socketReason(err, this.context)}`));
  };

  private readonly onClose = (): void => {
    if (!this.reconnect()) this.finish(this.watch.fail(`${this.url}: connection closed early`));
  };
}

function judgeBody(
  body: Buffer | undefined,
  spec: HttpSpec,
  url: string,
  code: number,
  watch: Stopwatch,
): ProbeResult {
  if (body === undefined) return watch.ok(String(code));
  if (spec.bodyRegex !== undefined && !spec.bodyRegex.test(body.toString('utf8'))) {
    return watch.fail(`${url} body does not match ${spec.bodyRegex}: ${preview(body)}`);
  }
  if (spec.bodyDigest !== undefined) {
    const [algorithm, expected] = spec.bodyDigest.split(':') as [string, string];
    const actual = createHash(algorithm).update(body).digest('hex');
    if (actual !== expected)
      return watch.fail(`${url} body digest is ${algorithm}:${actual}, expected ${expected}`);
  }
  return watch.ok(String(code));
}

function preview(body: Buffer): string {
  const text = JSON.stringify(body.subarray(0, 60).toString('utf8'));
  return body.length > 60 ? `${text}...` : text;
}
