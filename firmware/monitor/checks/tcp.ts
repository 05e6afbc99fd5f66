/** TCP connect: the server accepts a connection on its port (or `port`), which is then reset at once. */
import { connect } from 'node:net';
import { z } from 'zod';
import { closeHard, Stopwatch, socketReason, whileRunning } from './net-util.ts';
import { parseWith, sameSpec } from './spec.ts';
import { available, type ExchangeOwner, TcpExchange } from './tcp-handle.ts';
import type { CheckKind, CheckTarget, ProbeResult, RunContext } from './types.ts';

const schema = z.strictObject({
  /** Probe this port instead of the real server's. */
  port: z.number().int().min(1).max(65535).optional(),
});

export type TcpSpec = z.output<typeof schema>;

export const tcp: CheckKind<TcpSpec> = {
  kind: 'tcp',
  parse: (spec) => parseWith(schema, spec),
  sameConfig: sameSpec,
  run(target, spec, context) {
    const port = spec.port ?? target.port;
    if (!available()) return viaSocket(target, port, context);
    return new Promise((resolve) => new ConnectProbe(target.address, port, context, resolve));
  },
};

/** One connect on a bare TCP handle (a class: no closures per probe). */
class ConnectProbe implements ExchangeOwner {
  private readonly started: number;
  private readonly exchange: TcpExchange;
  private done = false;

  constructor(
    private readonly address: string,
    private readonly port: number,
    private readonly context: RunContext,
    private readonly resolve: (r: ProbeResult) => void,
  ) {
    this.started = context.drivers.clock.now();
    this.exchange = new TcpExchange(address, port, this);
    if (!this.done) context.onAbort(this.onAbort);
  }

  private readonly onAbort = (): void => this.finish(false, 'timed out');

  private finish(ok: boolean, reason: string): void {
    if (this.done) return;
    this.done = true;
    this.exchange?.close();
    this.context.onAbort(undefined);
    const latencyMs = this.context.drivers.clock.now() - this.started;
    this.resolve(
      ok
        ? { ok: true, latencyMs }
        : { ok: false, latencyMs, reason: `connect to ${this.address}:${this.port}: ${reason}` },
    );
  }

  connected(): undefined {
    this.finish(true, '');
    return undefined;
  }

  data(): void {}

  ended(): void {
    this.finish(false, 'closed');
  }

  failed(code: string): void {
    this.finish(false, code);
  }
}

/** The same on a net.Socket, for a Node without the tcp_wrap binding. */
async function viaSocket(
  target: CheckTarget,
  port: number,
  { signal, drivers }: RunContext,
): Promise<ProbeResult> {
  const watch = new Stopwatch(drivers.clock);
  const socket = connect({ host: target.address, port });
  try {
    return await whileRunning(
      signal,
      () => closeHard(socket),
      () =>
        new Promise((resolve) => {
          socket.once('connect', () => resolve(watch.ok()));
          socket.once('error', (err) =>
            resolve(watch.fail(`connect to ${target.address}:${port}: ${socketReason(err, signal)}`)),
          );
          socket.once('close', () =>
            resolve(
              watch.fail(`connect to ${target.address}:${port}: ${signal.aborted ? 'timed out' : 'closed'}`),
            ),
          );
        }),
    );
  } finally {
    closeHard(socket);
  }
}
