import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { builtinBoard } from '../../../board/load.ts';
import { connectJournal, type RemoteJournal } from '../../../firmware/journal/remote/index.ts';
import { APPLIANCE_KEY, JournalHealthSink } from '../../../firmware/monitor/journal-sink.ts';
import type { ApplianceHealthRecord } from '../../../firmware/monitor/types.ts';
import { runtimePaths } from '../../../firmware/runtime/paths.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { canRun } from '../../support/needs.ts';
import { startTestbed, type Testbed } from '../../support/testbed.ts';
import {
  bundleMain,
  ClusterProcess,
  cableAtRealtime,
  loudly,
  onlyOn,
  waitFor,
  withLogs,
  writeNodeConfig,
} from './support.ts';

/**
 * The appliance health score reaches the cluster core: each node's cluster process serves its journal
 * socket; a client writes the monitor's `@appliance` record there (through the monitor's own sink), the
 * host follows it and hands the score to the heartbeat process. A low score on the ACTIVE makes it hand
 * over (B takes the VIP) and go FAULT; the replicated record of A's score never counts as B's; A's
 * monitor reporting recovery on the follower (refused by the journal) still brings A back to STANDBY.
 */

type Node = 'a' | 'b';

const record = (score: number): ApplianceHealthRecord => ({
  score,
  components: [
    {
      name: 'client0',
      kind: 'link',
      healthy: score === 100,
      weight: 1,
      detail: score === 100 ? 'up' : 'no carrier',
    },
  ],
});

if (
  canRun('health score to the cluster core on the testbed', {
    root: true,
    tools: ['ip', 'socat', 'nft', 'arping'],
  })
) {
  const ctx: {
    tb?: Testbed;
    dir?: string;
    main?: Awaited<ReturnType<typeof bundleMain>>;
    procs: Partial<Record<Node, ClusterProcess>>;
    journals: Partial<Record<Node, RemoteJournal>>;
  } = { procs: {}, journals: {} };

  const tb = (): Testbed => ctx.tb as Testbed;
  const proc = (n: Node): ClusterProcess => ctx.procs[n] as ClusterProcess;
  const journal = (n: Node): RemoteJournal => ctx.journals[n] as RemoteJournal;
  const logged = () => [ctx.procs.a, ctx.procs.b];

  async function start(node: Node): Promise<void> {
    const config = writeNodeConfig(tb(), ctx.dir as string, node);
    ctx.procs[node] = await ClusterProcess.start(tb(), node, config, ctx.main as { argv: string[] });
    const board = builtinBoard('sim', { prefix: tb().prefix, node });
    ctx.journals[node] = await connectJournal({ path: runtimePaths(board).journalSocket, timeoutMs: 2000 });
  }

  const health = suite('appliance health score: the ACTIVE steps down when unhealthy');

  health.before(
    loudly(async () => {
      ctx.tb = await startTestbed({ realServers: 1 });
      await cableAtRealtime(tb());
      ctx.dir = mkdtempSync(join(tmpdir(), 'tnd-cluster-health-'));
      ctx.main = await bundleMain();
      await start('a');
      await proc('a').waitForRole('ACTIVE', 5000);
      await start('b');
      await proc('b').waitForRole('STANDBY', 5000);
      // The journals attach a moment later (A redials with back-off): A's records must reach B.
      await waitFor(
        'the journals to attach',
        async () => journal('a').status().relation,
        (r) => r !== 'none',
        8000,
        50,
      );
    }),
  );

  health.after(async () => {
    for (const j of Object.values(ctx.journals)) await j?.close();
    await Promise.all(Object.values(ctx.procs).map((p) => p?.stop('SIGKILL')));
    await ctx.tb?.down();
    ctx.main?.cleanup();
    if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
  });

  health(
    'a healthy score on the ACTIVE changes nothing',
    withLogs(logged, async () => {
      await new JournalHealthSink(journal('a')).applianceHealth(record(100));
      assert.is(journal('a').health.get(APPLIANCE_KEY)?.state, 'up');
      await new Promise((r) => setTimeout(r, 300));
      const a = await proc('a').status();
      assert.is(a.role, 'ACTIVE');
      assert.is(a.health, 100);
    }),
  );

  health(
    'a low score written on the ACTIVE journal: it hands over, B takes the VIP, A goes FAULT',
    withLogs(logged, async () => {
      await new JournalHealthSink(journal('a')).applianceHealth(record(20));
      await proc('b').waitForRole('ACTIVE', 5000);
      await onlyOn(tb(), 'b');
      const a = await waitFor(
        'A FAULT',
        () => proc('a').status(),
        (s) => s.role === 'FAULT',
        3000,
      );
      assert.is(a.health, 20);
      assert.ok(
        a.transitions.some((t) => t.from === 'ACTIVE'),
        `A left ACTIVE: ${JSON.stringify(a.transitions.slice(-3))}`,
      );
      const b = await proc('b').status();
      assert.is(b.transitions.at(-1)?.reason, 'handover');
    }),
  );

  health(
    "A's replicated record never counts as B's score: B stays ACTIVE at health 100",
    withLogs(logged, async () => {
      await waitFor(
        "A's record on B",
        async () => journal('b').health.get(APPLIANCE_KEY)?.data,
        (d) => String(JSON.stringify(d)).includes('"score":20'),
        3000,
      );
      await new Promise((r) => setTimeout(r, 300));
      const b = await proc('b').status();
      assert.is(b.role, 'ACTIVE');
      assert.is(b.health, 100);
    }),
  );

  health(
    'A recovers on the follower: the journal refuses the record, the core still hears it: STANDBY',
    withLogs(logged, async () => {
      await rejects(
        new JournalHealthSink(journal('a')).applianceHealth(record(100)),
        withCode('JOURNAL_NOT_LEADER'),
      );
      const a = await waitFor(
        'A STANDBY',
        () => proc('a').status(),
        (s) => s.role === 'STANDBY',
        3000,
      );
      assert.is(a.health, 100);
      assert.is((await proc('b').status()).role, 'ACTIVE');
      await onlyOn(tb(), 'b');
    }),
  );

  health.run();
}
