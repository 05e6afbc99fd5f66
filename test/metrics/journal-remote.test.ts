import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Journal } from '../../firmware/journal/api.ts';
import { JOURNAL_FILE } from '../../firmware/journal/recovery.ts';
import { type JournalServer, serveJournal } from '../../firmware/journal/remote/index.ts';
import { Collector } from '../../firmware/metrics/collector.ts';
import { render } from '../../firmware/metrics/exposition.ts';
import { families } from '../../firmware/metrics/families.ts';
import { type RemoteJournalSource, remoteJournalSource } from '../../firmware/metrics/journal-remote.ts';
import { LinuxClock } from '../../hal/clock/linux.ts';
import { startNode } from '../journal/support/pair.ts';
import { TmpDirs } from '../journal/support/tmp.ts';
import { parseExposition, sampleValue } from './parse.ts';

const clock = new LinuxClock();

interface Ctx {
  tmp: TmpDirs;
  journal: Journal | undefined;
  server: JournalServer | undefined;
  source: RemoteJournalSource | undefined;
}

const remote = suite<Ctx>('journal source over the access socket', {
  tmp: new TmpDirs(),
  journal: undefined,
  server: undefined,
  source: undefined,
});

remote.after.each(async (ctx) => {
  await ctx.source?.close();
  await ctx.server?.close();
  await ctx.journal?.close();
  ctx.source = undefined;
  ctx.server = undefined;
  ctx.journal = undefined;
  ctx.tmp.cleanup();
});

remote('down before the socket exists, then health and weights once the journal serves it', async (ctx) => {
  const dir = ctx.tmp.make('metrics-journal');
  const socket = join(dir, 'journal.sock');
  ctx.source = remoteJournalSource({ path: socket, clock, reconnectMs: 100, log: () => {} });
  const collector = new Collector({
    clock,
    node: 'a',
    timeoutMs: 1000,
    sources: { journal: ctx.source.read },
  });

  const before = await collector.collect();
  assert.is(before.sources.journal?.up, false);

  ctx.journal = await startNode({ dir, node: 'a' });
  await ctx.journal.promote(1);
  const data = (address: string, weight: number) => ({
    service: 'web',
    server: 'x',
    address,
    port: 80,
    weight,
  });
  await ctx.journal.health.set('web/rs1', 'up', 'HTTP 200', data('198.51.100.11', 10));
  await ctx.journal.health.set('web/rs2', 'down', 'refused', data('198.51.100.12', 0));
  await ctx.journal.health.set('@quorum/web', 'up', 'met');
  ctx.server = await serveJournal(ctx.journal, {
    path: socket,
    file: join(dir, JOURNAL_FILE),
    log: () => {},
  });

  const snap = await collector.collect();
  assert.is(snap.sources.journal?.up, true, snap.sources.journal?.error);
  assert.equal(
    snap.journal?.servers.map((s) => `${s.service}/${s.server} ${s.state} ${s.address} ${s.weight}`),
    ['web/rs1 up 198.51.100.11 10', 'web/rs2 down 198.51.100.12 0'],
  );
  assert.is(snap.journal?.status.role, 'leader');
  const parsed = parseExposition(render(families(snap)));
  assert.is(sampleValue(parsed, 'tandem_server_health', { server: 'rs2', state: 'down' }), 1);
  assert.is(sampleValue(parsed, 'tandem_server_weight', { server: 'rs1' }), 10);
  assert.ok((sampleValue(parsed, 'tandem_journal_head_seq') ?? 0) >= 4);

  await ctx.server.close();
  ctx.server = undefined;
  let after = await collector.collect();
  for (let i = 0; i < 20 && after.sources.journal?.up; i++) {
    await clock.sleep(25);
    after = await collector.collect();
  }
  assert.is(after.sources.journal?.up, false, 'a closed socket is reported, not stale figures');
});

remote.run();
