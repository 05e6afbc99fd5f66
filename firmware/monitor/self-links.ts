/**
 * Carrier of the appliance's own links for self-monitoring: a snapshot, then link events (hal/net). When
 * the event stream fails (the driver says changes were missed) it takes a fresh snapshot and watches
 * again, after a pause, until `signal` aborts.
 */
import type { Clock } from '../../hal/clock/types.ts';
import type { LinkInfo, NetDriver } from '../../hal/net/types.ts';
import type { Logger } from './types.ts';

export type CarrierReport = (links: Record<string, boolean>) => void;

export function carriersOf(links: readonly LinkInfo[]): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const l of links) out[l.name] = l.carrier;
  return out;
}

export async function watchCarriers(
  net: NetDriver,
  report: CarrierReport,
  options: { signal: AbortSignal; clock: Clock; log: Logger; retryMs?: number },
): Promise<void> {
  const { signal } = options;
  while (!signal.aborted) {
    try {
      const watch = await net.watchLinks({ signal });
      try {
        report(carriersOf(await net.links()));
        for await (const ev of watch) {
          if (ev.kind === 'removed') report({ [ev.link.name]: false });
          else if (ev.kind === 'added' || ev.kind === 'carrier-up' || ev.kind === 'carrier-down') {
            report({ [ev.link.name]: ev.link.carrier });
          } else if (ev.kind === 'changed' && ev.previous.name !== ev.link.name) {
            report({ [ev.previous.name]: false, [ev.link.name]: ev.link.carrier });
          }
        }
      } finally {
        await watch.close();
      }
    } catch (err) {
      if (signal.aborted) return;
      options.log('warn', 'link watch failed; watching again', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
    try {
      await options.clock.sleep(options.retryMs ?? 1000, { signal });
    } catch {
      return;
    }
  }
}
