import { pathToFileURL } from 'node:url';

/** A benchmark's result: named figures (numbers with their unit in the name, or short strings). */
export type Figures = Record<string, number | string>;

/** What every bench/*.ts exports. */
export interface BenchModule {
  run(): Promise<Figures>;
}

/** Prints figures as an aligned two-column table. */
export function printFigures(title: string, figures: Figures): void {
  const width = Math.max(...Object.keys(figures).map((k) => k.length), 10);
  console.log(`\n${title}`);
  for (const [name, value] of Object.entries(figures)) {
    const shown = typeof value === 'number' ? formatNumber(value) : value;
    console.log(`  ${name.padEnd(width)}  ${shown}`);
  }
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(3);
}

/** Runs `run` and prints its figures when the file is executed directly (`npx tsx bench/x.ts`). */
export async function benchMain(meta: ImportMeta, title: string, run: () => Promise<Figures>): Promise<void> {
  if (process.argv[1] === undefined || pathToFileURL(process.argv[1]).href !== meta.url) return;
  printFigures(title, await run());
}

/** The p-th percentile (0..100) of samples, nearest-rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
