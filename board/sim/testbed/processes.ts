import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * Finding the testbed's own processes by their exact command line (socat with a link into this prefix's
 * state dir; a real server started with `--testbed <prefix>`; an appliance's supervisor started with
 * `--prefix <prefix> --node a|b`), so `down` finds them even without PID files, and `up` never mistakes a
 * recycled PID for one of ours.
 */

export type OwnProcess =
  | { readonly pid: number; readonly role: 'serial' }
  | { readonly pid: number; readonly role: 'realserver'; readonly name: string }
  /** A node's console cable (socat linking console-<node> and console-<node>-operator). */
  | { readonly pid: number; readonly role: 'console'; readonly node: 'a' | 'b' }
  | { readonly pid: number; readonly role: 'supervisor'; readonly node: 'a' | 'b' };

const applianceNode = (value: string | undefined): 'a' | 'b' | undefined =>
  value === 'a' || value === 'b' ? value : undefined;

/** What `argv` (a /proc cmdline) is to the testbed `prefix` whose state dir is `stateDir`, if anything. */
export function classify(
  pid: number,
  argv: readonly string[],
  prefix: string,
  stateDir: string,
): OwnProcess | undefined {
  const program = basename(argv[0] ?? '');
  if (program === 'socat') {
    const link = `link=${join(stateDir, 'serial-a')}`;
    if (argv.some((a) => a.endsWith(link))) return { pid, role: 'serial' };
    for (const node of ['a', 'b'] as const) {
      const console = `link=${join(stateDir, `console-${node}`)}`;
      if (argv.some((a) => a.endsWith(console))) return { pid, role: 'console', node };
    }
    return undefined;
  }
  const value = (flag: string): string | undefined => argv[argv.indexOf(flag) + 1];
  if (argv.some((a) => a.endsWith('/firmware/supervisor/main.ts'))) {
    const node = applianceNode(value('--node'));
    if (!argv.includes('--prefix') || value('--prefix') !== prefix || node === undefined) return undefined;
    return { pid, role: 'supervisor', node };
  }
  if (!argv.some((a) => a.endsWith('/realserver.ts'))) return undefined;
  if (!argv.includes('--testbed') || value('--testbed') !== prefix) return undefined;
  const name = argv.includes('--name') ? value('--name') : undefined;
  return name === undefined ? undefined : { pid, role: 'realserver', name };
}

/** Every live process of the testbed `prefix` (zombies have no command line and are skipped). */
export function ownProcesses(prefix: string, stateDir: string): OwnProcess[] {
  const found: OwnProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    if (cmdline === '') continue;
    const own = classify(Number(entry), cmdline.split('\0').filter(Boolean), prefix, stateDir);
    if (own) found.push(own);
  }
  return found;
}

/** True when process `pid` lives in the named namespace (same nsfs inode), not in a deleted namesake. */
export function inNamespace(pid: number, ns: string): boolean {
  try {
    const mine = statSync(`/proc/${pid}/ns/net`);
    const named = statSync(join('/run/netns', ns));
    return mine.ino === named.ino && mine.dev === named.dev;
  } catch {
    return false;
  }
}

export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the parenthesised command name, which may itself hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** SIGKILLs `pids` and waits (bounded) until each is gone or a zombie awaiting its parent. */
export async function killAndWait(pids: readonly number[], timeoutMs = 3000): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = performance.now() + timeoutMs;
  while (pids.some(isRunning) && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
}
