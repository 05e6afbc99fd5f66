/**
 * `npm run bench [name…]`: runs every bench/*.ts (or those named) in its own process, one after another
 * (figures are not comparable when benchmarks share the CPU), prints each one's figures and writes them
 * all into one report, bench/reports/latest.md (and a dated JSON beside it).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Figures, formatNumber, printFigures } from './lib/figures.ts';

const here = import.meta.dirname;
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

const reports = join(here, 'reports');
mkdirSync(reports, { recursive: true });
const results: { name: string; figures: Figures | undefined; error: string | undefined; seconds: number }[] =
  [];

for (const file of files) {
  const name = basename(file, '.ts');
  const out = join(reports, `.${name}.json`);
  rmSync(out, { force: true });
  const started = performance.now();
  console.log(`\n=== ${name}`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(here, 'lib', 'child.ts'), join(here, file), out],
      {
        stdio: 'inherit',
      },
    );
    child.on('close', (c) => resolve(c ?? 1));
  });
  const seconds = (performance.now() - started) / 1000;
  let figures: Figures | undefined;
  try {
    figures = JSON.parse(readFileSync(out, 'utf8')) as Figures;
  } catch {
    figures = undefined;
  }
  rmSync(out, { force: true });
  const error = code === 0 && figures ? undefined : `exited ${code}`;
  results.push({ name, figures, error, seconds });
  if (figures) printFigures(`${name} (${seconds.toFixed(1)} s)`, figures);
  else console.log(`${name}: FAILED (${error})`);
}

const stamp = new Date().toISOString();
const lines = [`# Tandem benchmarks, ${stamp}`, ''];
for (const r of results) {
  lines.push(`## ${r.name} (${r.seconds.toFixed(1)} s)`, '');
  if (!r.figures) {
    lines.push(`FAILED: ${r.error}`, '');
    continue;
  }
  lines.push('| figure | value |', '|---|---|');
  for (const [k, v] of Object.entries(r.figures))
    lines.push(`| ${k} | ${typeof v === 'number' ? formatNumber(v) : v} |`);
  lines.push('');
}
writeFileSync(join(reports, 'latest.md'), lines.join('\n'));
writeFileSync(join(reports, `${stamp.replace(/[:.]/g, '-')}.json`), JSON.stringify(results, null, 2));
console.log(`\nreport: ${join(reports, 'latest.md')}`);
process.exitCode = results.some((r) => r.error) ? 1 : 0;
