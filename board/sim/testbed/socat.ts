import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** A serial null-modem cable: two linked ptys made by socat, reachable through symlinks in `dir`. */
export interface PtyPair {
  /** Symlinks to the two pty devices (stable names for boards and tests). */
  readonly linkA: string;
  readonly linkB: string;
  /** The pty devices themselves (/dev/pts/N). */
  readonly deviceA: string;
  readonly deviceB: string;
  readonly pid: number;
  /** Stops socat (by its PID) and waits for it to exit. */
  close(): Promise<void>;
}

export interface PtyPairOptions {
  dir: string;
  nameA?: string;
  nameB?: string;
  /** Run socat inside this network namespace, so deleting the namespace also stops it. */
  netns?: string;
  /** Detach socat from this process (it outlives us; the testbed records its PID). */
  detached?: boolean;
  timeoutMs?: number;
}

export async function startPtyPair(options: PtyPairOptions): Promise<PtyPair> {
  const linkA = join(options.dir, options.nameA ?? 'serial-a');
  const linkB = join(options.dir, options.nameB ?? 'serial-b');
  const socatArgs = ['socat', `pty,raw,echo=0,link=${linkA}`, `pty,raw,echo=0,link=${linkB}`];
  // A stale link from a crashed run could point at a pty that someone else now holds.
  rmSync(linkA, { force: true });
  rmSync(linkB, { force: true });
  const argv = options.netns ? ['ip', 'netns', 'exec', options.netns, ...socatArgs] : socatArgs;
  const [cmd, ...args] = argv as [string, ...string[]];
  const child: ChildProcess = spawn(cmd, args, {
    stdio: 'ignore',
    detached: options.detached ?? false,
  });
  if (options.detached) child.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  while (!(existsSync(linkA) && existsSync(linkB))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`socat did not create ${linkA} and ${linkB} (exit ${child.exitCode ?? 'timeout'})`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const pid = child.pid as number;
  return {
    linkA,
    linkB,
    deviceA: realpathSync(linkA),
    deviceB: realpathSync(linkB),
    pid,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
