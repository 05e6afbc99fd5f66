/** TCP connect: the server accepts a connection on its port (or `port`), which is then closed at once. */
import { connect } from 'node:net';
import { z } from 'zod';
import { closeHard, Stopwatch, socketReason, whileRunning } from './net-util.ts';
import { parseWith, sameSpec } from './spec.ts';
import type { CheckKind } from './types.ts';

const schema = z.strictObject({
  /** Probe this port instead of the real server's. */
  port: z.number().int().min(1).max(65535).optional(),
});

export type TcpSpec = z.output<typeof schema>;

export const tcp: CheckKind<TcpSpec> = {
  kind: 'tcp',
  parse: (spec) => parseWith(schema, spec),
  sameConfig: sameSpec,
  async run(target, spec, { signal, drivers }) {
    const watch = new Stopwatch(drivers.clock);
    const port = spec.port ?? target.port;
    const socket = connect({ host: target.address, port });
    try {
      return await whileRunning(
        signal,
        () => socket.destroy(),
        () =>
          new Promise((resolve) => {
            socket.once('connect', () => resolve(watch.ok()));
            socket.once('error', (err) =>
              resolve(watch.fail(`connect to ${target.address}:${port}: ${socketReason(err, signal)}`)),
            );
            socket.once('close', () =>
              resolve(
                watch.fail(
                  `connect to ${target.address}:${port}: ${signal.aborted ? 'timed out' : 'closed'}`,
                ),
              ),
            );
          }),
      );
    } finally {
      closeHard(socket);
    }
  },
};
