/**
 * An HTTP/1.x response reader for health checks, without sockets: feed it bytes as they arrive, then
 * `end()` when the peer closes. Without a body to judge, on a connection that will not be reused, it
 * reads the status line only; otherwise the status line and headers, then a body framed by
 * Content-Length, chunked transfer coding, or the end of the connection (kept only when it is to be
 * judged, else read past). Bounded: headers
 * over 16 KiB or a body over `maxBodyBytes` stop it with an error. Much lighter than node:http's client
 * for thousands of short exchanges a second, and it never throws on bad input: it reports it.
 */

const MAX_HEAD = 16 * 1024;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/;

export type ReadOutcome =
  | { readonly state: 'more' }
  | {
      readonly state: 'done';
      readonly status: number;
      readonly body: Buffer | undefined;
      /** The connection may carry another request (only ever true when the reader was told keepAlive). */
      readonly reusable: boolean;
    }
  | { readonly state: 'error'; readonly error: string };

export interface ReaderOptions {
  /** Read the body too (for a regex or digest); otherwise the status line and headers are enough. */
  readonly wantBody: boolean;
  readonly maxBodyBytes: number;
  /** The request was HEAD: no body follows, whatever the headers say. */
  readonly head: boolean;
  /**
   * The connection is meant for another request after this one: the whole response is read (the body
   * too, kept only when wantBody), and `reusable` says whether the server allows it.
   */
  readonly keepAlive?: boolean;
}

type Framing = { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' };

const MORE: ReadOutcome = { state: 'more' };

export class ResponseReader {
  private buffer: Buffer = Buffer.alloc(0);
  private status = 0;
  /** HTTP/1.1 without "Connection: close": the server keeps the connection open after the response. */
  private persistent = false;
  private framing: Framing | undefined;
  private readonly body: Buffer[] = [];
  private bodyLength = 0;
  /** Chunked: bytes of the current chunk still to read (undefined: a size line is next). */
  private chunkLeft: number | undefined;
  private inTrailers = false;
  private outcome: ReadOutcome = MORE;

  constructor(private readonly options: ReaderOptions) {}

  push(chunk: Buffer): ReadOutcome {
    if (this.outcome.state !== 'more') return this.outcome;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.outcome = this.framing === undefined ? this.readHead() : this.readBody();
    return this.outcome;
  }

  /** The peer closed the connection. */
  end(): ReadOutcome {
    if (this.outcome.state !== 'more') return this.outcome;
    if (this.framing?.kind === 'close') return this.finish();
    this.outcome = {
      state: 'error',
      error:
        this.framing === undefined
          ? 'connection closed before a complete response head'
          : 'connection closed in the body',
    };
    return this.outcome;
  }

  private readHead(): ReadOutcome {
    if (!this.options.wantBody && !this.options.keepAlive) return this.readStatusOnly();
    const end = this.buffer.indexOf(HEAD_END);
    if (end < 0) {
      if (this.buffer.length > MAX_HEAD)
        return { state: 'error', error: `response head longer than ${MAX_HEAD} bytes` };
      return MORE;
    }
    const lines = this.buffer.toString('latin1', 0, end).split('\r\n');
    const m = STATUS_LINE.exec(lines[0] ?? '');
    if (!m)
      return {
        state: 'error',
        error: `not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`,
      };
    this.status = Number(m[2]);
    this.persistent = m[1] === '1';
    let length: number | undefined;
    let chunked = false;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0)
        return { state: 'error', error: `malformed header line ${JSON.stringify(line.slice(0, 60))}` };
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== Number(value))) {
          return { state: 'error', error: `bad Content-Length ${JSON.stringify(value)}` };
        }
        length = Number(value);
      } else if (name === 'transfer-encoding') {
        chunked =
          value
            .toLowerCase()
            .split(',')
            .map((v) => v.trim())
            .at(-1) === 'chunked';
      } else if (name === 'connection' && /(^|,)\s*close\s*(,|$)/i.test(value)) {
        this.persistent = false;
      }
    }
    this.buffer = this.buffer.subarray(end + HEAD_END.length);
    const bodyless = this.options.head || this.status < 200 || this.status === 204 || this.status === 304;
    if (bodyless) return this.finish(this.options.wantBody ? Buffer.alloc(0) : undefined);
    if (chunked) this.framing = { kind: 'chunked' };
    else if (length !== undefined) this.framing = { kind: 'length', left: length };
    else this.framing = { kind: 'close' };
    return this.readBody();
  }

  /** Without a body to judge, the status line is all the check needs: the headers are not read. */
  private readStatusOnly(): ReadOutcome {
    const eol = this.buffer.indexOf(CRLF);
    if (eol < 0) {
      if (this.buffer.length > MAX_HEAD)
        return { state: 'error', error: `response head longer than ${MAX_HEAD} bytes` };
      return MORE;
    }
    const line = this.buffer.toString('latin1', 0, eol);
    const m = STATUS_LINE.exec(line);
    if (!m)
      return { state: 'error', error: `not an HTTP/1.x status line: ${JSON.stringify(line.slice(0, 60))}` };
    this.status = Number(m[2]);
    return { state: 'done', status: this.status, body: undefined, reusable: false };
  }

  private readBody(): ReadOutcome {
    const f = this.framing as Framing;
    if (f.kind === 'chunked') return this.readChunks();
    if (f.kind === 'length') {
      const take = this.buffer.subarray(0, f.left);
      f.left -= take.length;
      this.buffer = this.buffer.subarray(take.length);
      const full = this.keep(take);
      if (full) return full;
      return f.left === 0 ? this.finish() : MORE;
    }
    const full = this.keep(this.buffer);
    this.buffer = Buffer.alloc(0);
    return full ?? MORE;
  }

  private readChunks(): ReadOutcome {
    for (;;) {
      if (this.inTrailers) {
        const eol = this.buffer.indexOf(CRLF);
        if (eol < 0)
          return this.buffer.length > MAX_HEAD ? { state: 'error', error: 'trailers too long' } : MORE;
        const empty = eol === 0;
        this.buffer = this.buffer.subarray(eol + 2);
        if (empty) return this.finish();
        continue;
      }
      if (this.chunkLeft === undefined) {
        const eol = this.buffer.indexOf(CRLF);
        if (eol < 0)
          return this.buffer.length > 1024 ? { state: 'error', error: 'chunk size line too long' } : MORE;
        const sizeText = this.buffer.toString('latin1', 0, eol).split(';')[0]?.trim() ?? '';
        if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText))
          return { state: 'error', error: `bad chunk size ${JSON.stringify(sizeText)}` };
        this.buffer = this.buffer.subarray(eol + 2);
        const size = Number.parseInt(sizeText, 16);
        if (size === 0) {
          this.inTrailers = true;
          continue;
        }
        this.chunkLeft = size;
      }
      // Chunk data, then its CRLF.
      const take = this.buffer.subarray(0, this.chunkLeft);
      this.chunkLeft -= take.length;
      this.buffer = this.buffer.subarray(take.length);
      const full = this.keep(take);
      if (full) return full;
      if (this.chunkLeft > 0) return MORE;
      if (this.buffer.length < 2) {
        this.chunkLeft = 0;
        return MORE;
      }
      if (this.buffer[0] !== 0x0d || this.buffer[1] !== 0x0a)
        return { state: 'error', error: 'chunk not followed by CRLF' };
      this.buffer = this.buffer.subarray(2);
      this.chunkLeft = undefined;
    }
  }

  /** Keeps body bytes (when they are to be judged); an error outcome when the body grows past the limit. */
  private keep(bytes: Buffer): ReadOutcome | undefined {
    if (bytes.length === 0 || !this.options.wantBody) return undefined;
    this.bodyLength += bytes.length;
    if (this.bodyLength > this.options.maxBodyBytes) {
      return { state: 'error', error: `body is longer than maxBodyBytes ${this.options.maxBodyBytes}` };
    }
    this.body.push(bytes);
    return undefined;
  }

  private finish(body?: Buffer): ReadOutcome {
    return {
      state: 'done',
      status: this.status,
      body: body ?? (this.framing && this.options.wantBody ? Buffer.concat(this.body) : undefined),
      // Bytes after the response would belong to no request of ours.
      reusable:
        this.options.keepAlive === true &&
        this.persistent &&
        this.framing?.kind !== 'close' &&
        this.buffer.length === 0,
    };
  }
}
