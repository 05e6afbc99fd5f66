/**
 * Takes a picture of the status page with headless Chromium (Debian package `chromium`):
 *
 *   npx tsx scripts/screenshot-status.ts [--url http://<node>:9100/] [--out docs/status-page.png]
 *                                        [--size 1280,900]
 *
 * Without --url it serves the page itself from a fixture appliance (test/metrics/world.ts: an active
 * node with a standby peer, a service with three real servers, one of them down).
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '../test/metrics/chromium.ts';
import { startStatusWorld } from '../test/metrics/world.ts';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      out: { type: 'string', default: 'docs/status-page.png' },
      size: { type: 'string', default: '1280,900' },
    },
    strict: true,
  });
  if (!/^\d+,\d+$/.test(values.size)) {
    process.stderr.write(`--size should be width,height, instead got ${JSON.stringify(values.size)}\n`);
    return 2;
  }
  const world = values.url === undefined ? await startStatusWorld() : undefined;
  try {
    mkdirSync(dirname(values.out), { recursive: true });
    await chromium({
      url: values.url ?? world?.url ?? '',
      windowSize: values.size,
      budgetMs: 3000,
      screenshot: values.out,
    });
    process.stdout.write(`${values.out}: ${statSync(values.out).size} bytes\n`);
    return 0;
  } finally {
    await world?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
