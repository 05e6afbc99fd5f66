import { suite } from 'uvu';
import { netnsExec, TestNetns } from '../../../board/sim/testbed/netns.ts';
import { LinuxConntrack } from '../../../hal/conntrack/linux.ts';
import type { TrackedFlow } from '../../../hal/conntrack/types.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { canRun } from '../../support/needs.ts';
import { conntrackContract } from './contract.ts';

/** `conntrack -I` puts a flow in the namespace's table as if its packets had passed. */
function insert(ns: string, f: TrackedFlow): Promise<unknown> {
  const argv = ['conntrack', '-I', '-p', f.protocol, '-s', f.original.src, '-d', f.original.dst];
  argv.push('--sport', String(f.original.sport), '--dport', String(f.original.dport), '-t', '120');
  if (f.state !== undefined) argv.push('--state', f.state, '-u', 'SEEN_REPLY');
  return netnsExec(ns, argv);
}

if (canRun('conntrack', { root: true, tools: ['conntrack', 'ip'] })) {
  const nets = new TestNetns();
  const space = nets.add('ct');
  conntrackContract('linux (conntrack -L, in a namespace)', async () => {
    const ns = await space;
    const tracker = new LinuxConntrack({ netns: ns });
    return {
      tracker,
      add: async (flow) => {
        await insert(ns, flow);
      },
      dispose: async () => {
        await tracker.close();
        await netnsExec(ns, ['conntrack', '-F'], { allowFail: true });
      },
    };
  });

  const real = suite('LinuxConntrack');
  real.after(async () => {
    await nets.cleanup();
  });
  real('a missing namespace is HAL_NOT_FOUND, a bad name HAL_INVALID_ARGUMENT', async () => {
    const ghost = new LinuxConntrack({ netns: 'tnd-no-such-netns' });
    await rejects(ghost.list(), withCode('HAL_NOT_FOUND'));
    await ghost.close();
    let threw = false;
    try {
      new LinuxConntrack({ netns: '../x' });
    } catch (err) {
      threw = (err as { code?: string }).code === 'HAL_INVALID_ARGUMENT';
    }
    if (!threw) throw new Error('a netns with a slash was accepted');
  });
  real.run();
}
