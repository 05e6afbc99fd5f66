import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A man in the middle for journal replication tests: it accepts the dialling node's connection, opens
 * one to the listening node, and passes whole frames (split by their length prefix) through `tamper`,
 * which may forward, drop, alter, repeat or add frames. It records every frame it saw.
 */
export type Direction = 'to-listener' | 'to-dialler';

export interface SeenFrame {
  dir: Direction;
  conn: number;
  type: number;
  bytes: Buffer;
}

export class FrameProxy {
  readonly seen: SeenFrame[] = [];
  tamper: (frame: SeenFrame) => Buffer[] = (f) => [f.bytes];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private conns = 0;
  private current: { toListener: Socket; toDialler: Socket } | undefined;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    const server = createServer((inbound) => this.accept(inbound));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const a = server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => this.sockets.delete(s));
  }

  private accept(inbound: Socket): void {
    const conn = ++this.conns;
    const outbound = connect(this.target);
    this.track(inbound);
    this.track(outbound);
    this.current = { toListener: outbound, toDialler: inbound };
    this.pipe(inbound, outbound, 'to-listener', conn);
    this.pipe(outbound, inbound, 'to-dialler', conn);
    inbound.once('close', () => outbound.destroy());
    outbound.once('close', () => inbound.destroy());
  }

  private pipe(from: Socket, to: Socket, dir: Direction, conn: number): void {
    let buf = Buffer.alloc(0);
    from.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= buf.readUInt32BE(0) + 4) {
        const bytes = Buffer.from(buf.subarray(0, buf.readUInt32BE(0) + 4));
        buf = buf.subarray(bytes.length);
        const frame: SeenFrame = { dir, conn, type: bytes.readUInt8(7), bytes };
        this.seen.push(frame);
        for (const out of this.tamper(frame)) to.write(out);
      }
    });
  }

  /** Writes raw bytes into the current connection, between frames. */
  inject(dir: Direction, bytes: Buffer): void {
    const c = this.current;
    if (c === undefined) throw new Error('no connection through the proxy');
    (dir === 'to-listener' ? c.toListener : c.toDialler).write(bytes);
  }

  get connections(): number {
    return this.conns;
  }

  /** Drops every connection through the proxy (the dialler will reconnect). */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
