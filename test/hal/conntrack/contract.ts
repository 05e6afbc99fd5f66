import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConnectionTracker, TrackedFlow } from '../../../hal/conntrack/types.ts';
import { rejects, withCode } from '../../support/assert.ts';

export interface TrackerWorld {
  tracker: ConnectionTracker;
  /** Makes the table track `flow` (the kernel: `conntrack -I`; the sim: its hook). */
  add(flow: TrackedFlow): Promise<void>;
  dispose(): Promise<void>;
}

const tcp = (sport: number, state: string): TrackedFlow => ({
  protocol: 'tcp',
  state,
  original: { src: '10.79.0.1', dst: '10.79.0.2', sport, dport: 80 },
  reply: { src: '10.79.0.2', dst: '10.79.0.1', sport: 80, dport: sport },
  mark: 0,
});
const udp6: TrackedFlow = {
  protocol: 'udp',
  state: undefined,
  original: { src: '2001:db8::1', dst: '2001:db8::2', sport: 53, dport: 5353 },
  reply: { src: '2001:db8::2', dst: '2001:db8::1', sport: 5353, dport: 53 },
  mark: 0,
};

const key = (f: TrackedFlow): string =>
  `${f.protocol} ${f.state} ${JSON.stringify(f.original)} ${JSON.stringify(f.reply)}`;

/** What both conntrack drivers must do. */
export function conntrackContract(name: string, make: () => Promise<TrackerWorld>): void {
  const t = suite<{ w: TrackerWorld }>(`conntrack contract: ${name}`, {} as { w: TrackerWorld });
  t.before.each(async (ctx) => {
    ctx.w = await make();
  });
  t.after.each(async (ctx) => {
    await ctx.w?.dispose();
  });

  t('lists what is tracked, filtered by protocol and TCP state', async ({ w }) => {
    await w.add(tcp(40001, 'ESTABLISHED'));
    await w.add(tcp(40002, 'TIME_WAIT'));
    await w.add(udp6);
    const all = (await w.tracker.list()).map(key).sort();
    assert.equal(all, [tcp(40001, 'ESTABLISHED'), tcp(40002, 'TIME_WAIT'), udp6].map(key).sort());
    const established = await w.tracker.list({ state: 'ESTABLISHED' });
    assert.equal(established.map(key), [key(tcp(40001, 'ESTABLISHED'))]);
    assert.equal((await w.tracker.list({ protocol: 'udp' })).map(key), [key(udp6)]);
  });

  t('an unknown protocol or state is refused with its name', async ({ w }) => {
    const e1 = await rejects(w.tracker.list({ protocol: 'icmp' as 'tcp' }), withCode('HAL_INVALID_ARGUMENT'));
    assert.match((e1 as Error).message, /"icmp"/);
    const e2 = await rejects(w.tracker.list({ state: 'OPEN' as 'CLOSE' }), withCode('HAL_INVALID_ARGUMENT'));
    assert.match((e2 as Error).message, /"OPEN"/);
    await rejects(
      w.tracker.list({ protocol: 'udp', state: 'ESTABLISHED' }),
      withCode('HAL_INVALID_ARGUMENT'),
    );
  });

  t('an aborted signal is HAL_CANCELED; after close HAL_CLOSED', async ({ w }) => {
    const ac = new AbortController();
    ac.abort();
    await rejects(w.tracker.list({ signal: ac.signal }), withCode('HAL_CANCELED'));
    await w.tracker.close();
    await w.tracker.close();
    await rejects(w.tracker.list(), withCode('HAL_CLOSED'));
  });

  t.run();
}
