import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.ts';

/**
 * Every namespace, veth and bridge Tandem's testbed and tests make is named with this prefix, so one
 * sweep removes whatever a crashed run left behind. Interface names stay within the kernel's 15 bytes.
 */
export const NAME_PREFIX = 'tnd';

export async function listNetns(): Promise<string[]> {
  const { stdout } = await run(['ip', '-j', 'netns', 'list'], { allowFail: true });
  if (stdout.trim() === '') return [];
  const parsed = JSON.parse(stdout) as { name: string }[];
  return parsed.map((n) => n.name);
}

export async function addNetns(name: string): Promise<void> {
  if ((await listNetns()).includes(name)) return;
  await run(['ip', 'netns', 'add', name]);
  await run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
}

/** Deleting a namespace kills nothing: processes still inside are stopped by PID first (ip netns pids). */
export async function deleteNetns(name: string): Promise<void> {
  const { stdout } = await run(['ip', 'netns', 'pids', name], { allowFail: true });
  for (const pid of stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await run(['ip', 'netns', 'delete', name], { allowFail: true });
}

/** Runs argv inside namespace `ns`. */
export function netnsExec(ns: string, argv: readonly string[], options: Parameters<typeof run>[1] = {}) {
  return run(['ip', 'netns', 'exec', ns, ...argv], options);
}

/** Creates a veth pair with one end in each namespace (`undefined` = the host), made inside `a.ns` so
 * that concurrent runs never collide on a host-side interface name. */
export async function addVeth(
  a: { ns: string | undefined; ifname: string },
  b: { ns: string | undefined; ifname: string },
): Promise<void> {
  const inA = a.ns ? ['-n', a.ns] : [];
  const peerNs = b.ns ? ['netns', b.ns] : [];
  await run(['ip', ...inA, 'link', 'add', a.ifname, 'type', 'veth', 'peer', 'name', b.ifname, ...peerNs]);
}

/**
 * Namespaces for one test file, named `tnd-t<pid>-<name>`. `sweepOrphans` removes those whose
 * creating process is gone (a killed test), so nothing is left behind.
 */
export class TestNetns {
  readonly tag = `${NAME_PREFIX}-t${process.pid}`;
  private readonly made: string[] = [];

  name(short: string): string {
    return `${this.tag}-${short}`;
  }

  async add(short: string): Promise<string> {
    const ns = this.name(short);
    await addNetns(ns);
    this.made.push(ns);
    return ns;
  }

  async cleanup(): Promise<void> {
    for (const ns of this.made.splice(0).reverse()) await deleteNetns(ns);
  }

  static async sweepOrphans(): Promise<string[]> {
    const removed: string[] = [];
    for (const ns of await listNetns()) {
      const m = /^tnd-t(\d+)-/.exec(ns);
      if (!m) continue;
      if (isAlive(Number(m[1]))) continue;
      await deleteNetns(ns);
      removed.push(ns);
    }
    const stateRoot = '/run/tandem-sim';
    for (const dir of existsSync(stateRoot) ? readdirSync(stateRoot) : []) {
      const m = /^tnd-t(\d+)-/.exec(dir);
      if (m && !isAlive(Number(m[1]))) rmSync(join(stateRoot, dir), { recursive: true, force: true });
    }
    return removed;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
