/**
 * Runs check probes in whatever namespace this process was started in (the tests start it in the
 * testbed's appliance namespace with `ip netns exec`), over JSON lines:
 *   { id, check: { kind, ...fields }, target, timeoutMs } → { id, ok: true, result, ms }
 * The check is parsed by its kind, run with the Linux clock and pinger, and aborted at its timeout as the
 * monitor core would (the reply's `ms` shows how long the run took to settle after that). Kept-alive
 * connections wait between requests as in the monitor; { id, closeIdle: true } closes them → { id, ok, closed }.
 */
import { createInterface } from 'node:readline';
import { ProbeContext } from '../../../firmware/monitor/checks/context.ts';
import { IdleConnections } from '../../../firmware/monitor/checks/idle-connections.ts';
import { findKind } from '../../../firmware/monitor/checks/index.ts';
import type { CheckTarget } from '../../../firmware/monitor/checks/types.ts';
import { LinuxClock } from '../../../hal/clock/linux.ts';
import { LinuxPinger } from '../../../hal/icmp/linux.ts';

const clock = new LinuxClock();
const pinger = new LinuxPinger({ clock });
const connections = new IdleConnections(clock);

interface Request {
  id: number;
  closeIdle?: true;
  check: { kind: string; [k: string]: unknown };
  target: CheckTarget;
  timeoutMs: number;
}

async function probe(req: Request): Promise<unknown> {
  if (req.closeIdle) {
    const closed = connections.size;
    connections.closeAll();
    return { closed };
  }
  const { kind: name, ...fields } = req.check;
  const kind = findKind(name);
  if (!kind) throw new Error(`no check kind ${name}`);
  const spec = kind.parse(fields);
  const context = new ProbeContext(req.timeoutMs, { clock, pinger, connections });
  const timer = clock.setTimer(req.timeoutMs, () => context.abort());
  const started = clock.now();
  try {
    const result = await kind.run(req.target, spec, context);
    return { result, ms: clock.now() - started, aborted: context.aborted };
  } finally {
    timer.cancel();
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const req = JSON.parse(line) as Request;
  probe(req).then(
    (out) => process.stdout.write(`${JSON.stringify({ id: req.id, ok: true, ...(out as object) })}\n`),
    (err: unknown) =>
      process.stdout.write(`${JSON.stringify({ id: req.id, ok: false, error: String(err) })}\n`),
  );
});
lines.on('close', () => {
  connections.closeAll();
  void pinger.close().then(() => process.exit(0));
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
