/**
 * Runs a LinuxPinger in whatever network namespace this process was started in (the test starts it with
 * `ip netns exec <ns> node --import tsx pinger-child.ts`) and serves it over stdin/stdout, one JSON object
 * per line. See child-pinger.ts for the other end. It also sends raw ICMP bytes on request ("inject"),
 * which the tests use to throw garbage at a pinger in a peer namespace. "close" closes the pinger only, so
 * the tests can see what a closed pinger does; "renew" swaps in a fresh pinger, so one child serves many
 * tests. The process ends when its stdin does.
 */
import { createInterface } from 'node:readline';
import { HalError } from '../../../hal/errors.ts';
import { LinuxPinger } from '../../../hal/icmp/linux.ts';
import { openIcmpSocket } from '../../../hal/icmp/raw-socket.ts';

export type Request =
  | { id: number; op: 'ping'; address: string; timeoutMs: number; payloadBytes?: number; aborted?: boolean }
  | { id: number; op: 'abort'; ping: number }
  | { id: number; op: 'stats' }
  | { id: number; op: 'inject'; address: string; hex: string }
  | { id: number; op: 'close' }
  | { id: number; op: 'renew' };

export type Response = { id: number; stats: ReturnType<LinuxPinger['stats']> } & (
  | { ok: true; value?: unknown }
  | { ok: false; error: { code: string; message: string } }
);

let pinger = new LinuxPinger();
const aborts = new Map<number, AbortController>();

function send(id: number, outcome: { ok: true; value?: unknown } | { ok: false; error: unknown }): void {
  const body: Response = outcome.ok
    ? { id, stats: pinger.stats(), ...outcome }
    : {
        id,
        stats: pinger.stats(),
        ok: false,
        error: {
          code: HalError.is(outcome.error) ? outcome.error.code : 'NOT_A_HAL_ERROR',
          message: outcome.error instanceof Error ? outcome.error.message : String(outcome.error),
        },
      };
  process.stdout.write(`${JSON.stringify(body)}\n`);
}

function inject(address: string, hex: string): Promise<void> {
  const socket = openIcmpSocket(address.includes(':') ? 6 : 4, 65_536);
  const bytes = Buffer.from(hex, 'hex');
  return new Promise((resolve, reject) => {
    socket.send(
      bytes,
      0,
      bytes.length,
      address,
      () => {},
      (err) => {
        socket.close();
        if (err) reject(err);
        else resolve();
      },
    );
  });
}

async function handle(req: Request): Promise<void> {
  switch (req.op) {
    case 'ping': {
      const ac = new AbortController();
      aborts.set(req.id, ac);
      if (req.aborted) ac.abort();
      try {
        const reply = await pinger.ping(req.address, {
          timeoutMs: req.timeoutMs,
          signal: ac.signal,
          ...(req.payloadBytes === undefined ? {} : { payloadBytes: req.payloadBytes }),
        });
        send(req.id, { ok: true, value: reply });
      } catch (error) {
        send(req.id, { ok: false, error });
      } finally {
        aborts.delete(req.id);
      }
      return;
    }
    case 'abort':
      aborts.get(req.ping)?.abort();
      send(req.id, { ok: true });
      return;
    case 'stats':
      send(req.id, { ok: true });
      return;
    case 'inject':
      try {
        await inject(req.address, req.hex);
        send(req.id, { ok: true });
      } catch (error) {
        send(req.id, { ok: false, error });
      }
      return;
    case 'close':
      await pinger.close();
      send(req.id, { ok: true });
      return;
    case 'renew':
      await pinger.close();
      pinger = new LinuxPinger();
      send(req.id, { ok: true });
      return;
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  void handle(JSON.parse(line) as Request);
});
lines.on('close', () => {
  void pinger.close();
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
