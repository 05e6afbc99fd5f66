/**
 * Entry points bundled once, at supervisor start, into one ESM file each (esbuild, which tsx brings), so
 * a restart skips tsx's transpiling: a cluster process then starts in a fraction of a second. Packages
 * stay external (native addons), so the bundle lives under node_modules/.cache where Node finds them.
 * Without esbuild (or when a build fails) the entry runs through tsx.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface Prepared {
  /** The command line that runs the entry point (before its own arguments). */
  readonly argv: readonly string[];
  readonly bundled: boolean;
  cleanup(): void;
}

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** The command line that runs a TypeScript entry point through tsx. */
export const viaTsx = (entry: string): string[] => [process.execPath, '--import', 'tsx', entry];

/** `name` keeps the bundles of several `main.ts` apart. */
export async function prepareEntry(name: string, entry: string, bundle: boolean): Promise<Prepared> {
  if (!bundle) return { argv: viaTsx(entry), bundled: false, cleanup: () => {} };
  const dir = join(REPO_ROOT, 'node_modules', '.cache', 'tandem-supervisor');
  const outfile = join(dir, `${name}-${basename(entry, '.ts')}-${process.pid}.mjs`);
  try {
    mkdirSync(dir, { recursive: true });
    sweepStale(dir);
    const esbuild = await import('esbuild');
    await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outfile,
      logLevel: 'silent',
    });
    return {
      argv: [process.execPath, outfile],
      bundled: true,
      cleanup: () => rmSync(outfile, { force: true }),
    };
  } catch {
    return { argv: viaTsx(entry), bundled: false, cleanup: () => {} };
  }
}

/** Removes bundles of supervisors that are gone (killed, so they could not clean up). */
function sweepStale(dir: string): void {
  for (const file of readdirSync(dir)) {
    const pid = Number(/-(\d+)\.mjs$/.exec(file)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    rmSync(join(dir, file), { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
