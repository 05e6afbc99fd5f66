import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canRun } from '../support/needs.ts';
import { chromium } from './chromium.ts';
import { type StatusWorld, startStatusWorld } from './world.ts';

/** The text of the element with `id` in a dumped DOM (tags dropped, entities left as they are). */
function section(dom: string, id: string): string {
  const start = dom.indexOf(`id="${id}"`);
  if (start < 0) return '';
  const end = dom.indexOf('</section>', start);
  return dom
    .slice(start, end < 0 ? undefined : end)
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ');
}

if (canRun('status page in headless Chromium', { tools: ['chromium'] })) {
  const page = suite<{ world: StatusWorld | undefined; tmp: string }>('the status page in Chromium', {
    world: undefined,
    tmp: '',
  });

  page.before(async (ctx) => {
    ctx.world = await startStatusWorld();
    ctx.tmp = mkdtempSync(join(tmpdir(), 'tnd-status-page-'));
  });

  page.after(async (ctx) => {
    await ctx.world?.close();
    rmSync(ctx.tmp, { recursive: true, force: true });
  });

  page(
    'after its script ran, it shows who is active, the peer, links, servers, traffic and journal lag',
    async (ctx) => {
      const dom = await chromium({ url: ctx.world?.url ?? '', budgetMs: 3500 });
      assert.match(dom, /data-ready="true"/, 'the page fetched /status.json');
      assert.match(section(dom, 'cluster'), /Active: this node \(a\)/);
      assert.match(section(dom, 'cluster'), /peer STANDBY/);
      assert.match(section(dom, 'links'), /serial up/);
      assert.match(section(dom, 'links'), /eth warn/);
      const services = section(dom, 'services');
      assert.match(services, /web \(dr\)/);
      assert.match(services, /rs1 198\.51\.100\.11 up 10/);
      assert.match(services, /rs3 198\.51\.100\.13 down 0/);
      assert.match(services, /conn\/s/);
      assert.match(services, / 60% /, 'the split across servers, from two readings');
      assert.match(section(dom, 'journal'), /replication lag 2 entries/);
      assert.match(section(dom, 'supervisor'), /panel backoff/);
      const error = /<div id="error"[^>]*>([^<]*)/.exec(dom)?.[1] ?? '';
      assert.is(error, '', 'the last reading succeeded');
    },
  );

  page('renders on a phone and on a desk (screenshots)', async (ctx) => {
    for (const [name, size] of [
      ['phone', '390,844'],
      ['desk', '1280,900'],
    ] as const) {
      const file = join(ctx.tmp, `${name}.png`);
      await chromium({ url: ctx.world?.url ?? '', windowSize: size, budgetMs: 2500, screenshot: file });
      const png = readFileSync(file);
      assert.equal(
        [...png.subarray(0, 8)],
        [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
        `${name}: a PNG`,
      );
      assert.is(png.readUInt32BE(16), Number(size.split(',')[0]), `${name}: its width`);
      assert.ok(png.length > 5_000, `${name}: not blank (${png.length} bytes)`);
    }
  });

  page.run();
}
