/**
 * One short TCP exchange on Node's own TCP handle (the tcp_wrap binding that net.Socket is built on),
 * without the stream machinery around it: connect, optionally write one request and read until the
 * caller has seen enough, then close with a reset (RST: no FIN handshake, no TIME_WAIT on the
 * appliance). A kept-alive connection passes to another owner and carries more requests
 * (`send`). At a thousand probes a second this costs about half of what net.Socket does (measured:
 * 5-6% of a core against 10% for bare connects, 8-9% against 13% for HTTP GETs).
 *
 * `available()` says whether this Node has the binding; callers keep a net.Socket path for when not.
 */
import { getSystemErrorName } from 'node:util';

interface ConnectRequest {
  oncomplete: (status: number, handle: TcpHandle) => void;
}

interface WriteRequest {
  handle: TcpHandle;
  oncomplete: () => void;
  async: boolean;
}

interface TcpHandle {
  /** Ours: the exchange this handle belongs to. */
  exchange: TcpExchange;
  onread: (this: TcpHandle, buffer: ArrayBuffer | undefined) => void;
  connect(req: ConnectRequest, address: string, port: number): number;
  connect6(req: ConnectRequest, address: string, port: number): number;
  readStart(): number;
  /** Reads land in `buffer` (onread gets no ArrayBuffer), instead of a fresh 64 KiB allocation each. */
  useUserBuffer(buffer: Uint8Array): void;
  writeLatin1String(req: WriteRequest, text: string): number;
  reset(onClose: () => void): number;
  close(onClose?: () => void): void;
}

interface Bindings {
  TCP: new (type: number) => TcpHandle;
  ConnectWrap: new () => ConnectRequest;
  WriteWrap: new () => WriteRequest;
  socketType: number;
  state: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
}

function load(): Bindings | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const tcp = binding('tcp_wrap') as {
      TCP: Bindings['TCP'];
      TCPConnectWrap: Bindings['ConnectWrap'];
      constants: { SOCKET: number };
    };
    const stream = binding('stream_wrap') as {
      WriteWrap: Bindings['WriteWrap'];
      streamBaseState: Int32Array;
      kReadBytesOrError: number;
      kArrayBufferOffset: number;
    };
    if (typeof tcp.TCP !== 'function' || typeof stream.WriteWrap !== 'function') return undefined;
    return {
      TCP: tcp.TCP,
      ConnectWrap: tcp.TCPConnectWrap,
      WriteWrap: stream.WriteWrap,
      socketType: tcp.constants.SOCKET,
      state: stream.streamBaseState,
      kReadBytesOrError: stream.kReadBytesOrError,
      kArrayBufferOffset: stream.kArrayBufferOffset,
    };
  } catch {
    return undefined;
  }
}

/** TANDEM_MONITOR_NET_SOCKETS=1 forces the net.Socket path (its tests; a Node without the binding). */
const bindings = process.env.TANDEM_MONITOR_NET_SOCKETS === '1' ? undefined : load();

export function available(): boolean {
  return bindings !== undefined;
}

/** What the owner of an exchange is told; exactly one of `connectFailed`, `ended` or its own close ends it. */
export interface ExchangeOwner {
  /** Connected. Returns the request to write (latin1), or undefined when connecting was the whole check. */
  connected(): string | undefined;
  /** Bytes arrived (valid only during the call). */
  data(bytes: Buffer): void;
  /** The peer closed its side (EOF). */
  ended(): void;
  /** Connecting or reading failed: the errno name (ECONNREFUSED, ECONNRESET, ...). */
  failed(code: string): void;
}

const ignore = (): void => {};

/**
 * Every exchange reads into this one buffer: a read is handed to its owner and done with before the next
 * read of any handle lands (one thread), and the owner copies what it keeps (`data`).
 */
const readBuffer = new Uint8Array(64 * 1024);

/** Owner callbacks run from the binding's callbacks, where a throw would be an uncaught exception. */
function crashed(x: TcpExchange, err: unknown): void {
  if (!x.closed) x.owner.failed(`check crashed: ${err instanceof Error ? err.message : String(err)}`);
}

function onConnect(status: number, handle: TcpHandle): void {
  const x = handle.exchange;
  if (x.closed) return;
  try {
    connected(x, status, handle);
  } catch (err) {
    crashed(x, err);
  }
}

function connected(x: TcpExchange, status: number, handle: TcpHandle): void {
  if (status < 0) {
    x.owner.failed(errnoName(status));
    return;
  }
  x.connected = true;
  const request = x.owner.connected();
  if (request === undefined || x.closed) return;
  handle.onread = onRead;
  handle.useUserBuffer(readBuffer);
  const err = write(handle, request) || handle.readStart();
  if (err !== 0 && !x.closed) x.owner.failed(errnoName(err));
}

function write(handle: TcpHandle, text: string): number {
  const b = bindings as Bindings;
  const req = new b.WriteWrap();
  req.handle = handle;
  req.oncomplete = ignore;
  req.async = false;
  return handle.writeLatin1String(req, text);
}

function onRead(this: TcpHandle, buffer: ArrayBuffer | undefined): void {
  const x = this.exchange;
  if (x.closed) return;
  try {
    read(x, buffer);
  } catch (err) {
    crashed(x, err);
  }
}

function read(x: TcpExchange, buffer: ArrayBuffer | undefined): void {
  const b = bindings as Bindings;
  const n = b.state[b.kReadBytesOrError] as number;
  if (n > 0) {
    const bytes =
      buffer === undefined
        ? Buffer.from(readBuffer.buffer, readBuffer.byteOffset, n)
        : Buffer.from(buffer, b.state[b.kArrayBufferOffset], n);
    x.owner.data(bytes);
  } else if (n < 0) {
    if (getSystemErrorName(n) === 'EOF') x.owner.ended();
    else x.owner.failed(errnoName(n));
  }
}

function errnoName(status: number): string {
  try {
    return getSystemErrorName(status);
  } catch {
    return `error ${status}`;
  }
}

/**
 * A connection in progress. The owner hears of it through its callbacks until `close()`, which must be
 * called exactly when the owner is done (any time, also from inside a callback); after it, nothing more.
 */
export class TcpExchange {
  closed = false;
  connected = false;
  private readonly handle: TcpHandle;

  /** Starts connecting; when that fails at once, it is closed and `owner.failed` is told before this returns. */
  constructor(
    address: string,
    port: number,
    /** Who hears of this connection; a kept-alive one changes hands by setting it. */
    public owner: ExchangeOwner,
  ) {
    const b = bindings;
    if (b === undefined) throw new Error('the tcp_wrap binding is not available in this Node');
    this.handle = new b.TCP(b.socketType);
    this.handle.exchange = this;
    const req = new b.ConnectWrap();
    req.oncomplete = onConnect;
    // Targets are address literals (config checks them): a colon means IPv6.
    const err = address.includes(':')
      ? this.handle.connect6(req, address, port)
      : this.handle.connect(req, address, port);
    if (err !== 0) {
      this.close();
      owner.failed(errnoName(err));
    }
  }

  /**
   * Writes another request on a connection whose first request was written (reading goes on); when the
   * write fails at once, `owner.failed` is told before this returns.
   */
  send(request: string): void {
    if (this.closed || !this.connected) throw new Error('send() needs an open, connected exchange');
    const err = write(this.handle, request);
    if (err !== 0) this.owner.failed(errnoName(err));
  }

  /** Closes the connection: a reset once connected, else a plain close (which cancels the connect). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.connected || this.handle.reset(ignore) !== 0) this.handle.close(ignore);
  }
}
