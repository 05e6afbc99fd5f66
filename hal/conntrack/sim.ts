import { abortError, HalError } from '../errors.ts';
import { checkListOptions, matches } from './parse.ts';
import type { ConnectionTracker, ListOptions, TrackedFlow } from './types.ts';

/**
 * A connection tracking table in a simulated world: tests put flows in it (track, forget, clear) where the
 * kernel would see packets. It refuses what LinuxConntrack refuses, with the same codes.
 */
export class SimConntrack implements ConnectionTracker {
  private readonly flows: TrackedFlow[] = [];
  private closed = false;

  async list(options: ListOptions = {}): Promise<TrackedFlow[]> {
    if (this.closed)
      throw new HalError('HAL_CLOSED', 'cannot list: conntrack is closed', { device: 'conntrack' });
    if (options.signal?.aborted) throw abortError(options.signal, 'conntrack');
    const filter = checkListOptions(options, 'conntrack');
    return this.flows.filter((f) => matches(f, filter)).map((f) => structuredClone(f));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Test hook: the kernel starts tracking `flow`. */
  track(flow: TrackedFlow): void {
    this.flows.push(structuredClone(flow));
  }

  /** Test hook: flows matching `which` end; returns how many. */
  forget(which: (flow: TrackedFlow) => boolean): number {
    let n = 0;
    for (let i = this.flows.length - 1; i >= 0; i--) {
      if (which(this.flows[i] as TrackedFlow)) {
        this.flows.splice(i, 1);
        n += 1;
      }
    }
    return n;
  }
}
