import { spawnSync } from 'node:child_process';

/** True when the run is CI's: there a missing requirement fails the file instead of skipping it. */
export const inCI = process.env.CI === 'true';

export interface Requirements {
  root?: boolean;
  tools?: readonly string[];
  /** Paths that must exist (a device node, a kernel interface). */
  paths?: readonly string[];
}

/** What of `reqs` this machine lacks, in words; empty when everything is there. */
export function missing(reqs: Requirements): string[] {
  const out: string[] = [];
  if (reqs.root && process.getuid?.() !== 0) out.push('root');
  for (const tool of reqs.tools ?? []) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) out.push(`the tool ${tool}`);
  }
  for (const path of reqs.paths ?? []) {
    if (spawnSync('test', ['-e', path]).status !== 0) out.push(path);
  }
  return out;
}

/**
 * True when the requirements are met. Otherwise, outside CI, prints one line saying why and returns false
 * (the file registers no tests); in CI it throws, because CI's set-up installs everything.
 * Use: `if (canRun('serial on ptys', { root: true, tools: ['socat'] })) { ...suites...; suite.run(); }`
 */
export function canRun(name: string, reqs: Requirements): boolean {
  const lacking = missing(reqs);
  if (lacking.length === 0) return true;
  const why = `${name} needs ${lacking.join(', ')}`;
  if (inCI) throw new Error(`${why} (CI must provide it: see scripts/setup.sh)`);
  console.log(`skip: ${why}`);
  return false;
}

/**
 * For tests of kernel features this machine's kernel lacks (a GPIO chip, IPVS, a watchdog device): true
 * when every path exists; otherwise prints one `skip:` line and returns false, in CI too — CI cannot
 * install a kernel feature. The image issue runs these tests in a guest whose kernel has them.
 */
export function kernelHas(name: string, paths: readonly string[]): boolean {
  const lacking = paths.filter((p) => spawnSync('test', ['-e', p]).status !== 0);
  if (lacking.length === 0) return true;
  console.log(`skip: ${name} needs ${lacking.join(', ')}, which this kernel does not have`);
  return false;
}
