import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Clock, Timer } from '../../hal/clock/types.ts';
import { ioError } from './errors.ts';

/**
 * The TCP side of replication over the Ethernet heartbeat link: a listening server and, on the node that
 * dials (the one with the smaller node id), one outbound connection re-dialled with back-off whenever it
 * drops. Sockets are handed to `onSocket`; what flows over them is the replicator's business.
 */
export interface Endpoint {
  host: string;
  port: number;
}

export interface LinkOptions {
  listen?: Endpoint;
  dial?: Endpoint;
  clock: Clock;
  onSocket: (socket: Socket, direction: 'in' | 'out') => void;
  /** Inbound connections beyond this many open ones are dropped at once. */
  maxInbound?: number;
  backoff?: { minMs: number; maxMs: number };
}

export class Link {
  private server: Server | undefined;
  private outbound: Socket | undefined;
  private redial: Timer | undefined;
  private delay: number;
  private closed = false;
  private readonly inbound = new Set<Socket>();

  constructor(private readonly options: LinkOptions) {
    this.delay = options.backoff?.minMs ?? 100;
  }

  async start(): Promise<void> {
    const { listen } = this.options;
    if (listen) {
      const server = createServer((socket) => this.accept(socket));
      this.server = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(ioError(err, `listening on ${listen.host}:${listen.port}`)));
        server.listen(listen.port, listen.host, () => resolve());
      });
    }
    this.dial();
  }

  /** The bound listening address (the real port when `listen.port` was 0). */
  address(): Endpoint | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  private accept(socket: Socket): void {
    if (this.closed || this.inbound.size >= (this.options.maxInbound ?? 4)) {
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    socket.once('close', () => this.inbound.delete(socket));
    this.prepare(socket);
    this.options.onSocket(socket, 'in');
  }

  private prepare(socket: Socket): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    // Errors are followed by 'close', which is what the replicator acts on.
    socket.on('error', () => {});
  }

  private dial(): void {
    const target = this.options.dial;
    if (this.closed || target === undefined || this.outbound) return;
    const socket = connect({ host: target.host, port: target.port });
    this.outbound = socket;
    this.prepare(socket);
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      this.delay = this.options.backoff?.minMs ?? 100;
      this.options.onSocket(socket, 'out');
    });
    socket.once('close', () => {
      this.outbound = undefined;
      if (this.closed) return;
      const wait = this.delay;
      if (!connected) this.delay = Math.min(this.delay * 2, this.options.backoff?.maxMs ?? 2000);
      this.redial = this.options.clock.setTimer(wait, () => {
        this.redial = undefined;
        this.dial();
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.redial?.cancel();
    this.outbound?.destroy();
    for (const s of this.inbound) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
