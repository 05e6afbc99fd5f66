/**
 * What stands in for a kernel watchdog in the Linux driver's tests on a machine without one: a regular file
 * or a FIFO as the device (it records every byte the driver writes), and a stub of wdctl that plays the
 * ioctls the file cannot (it keeps the "programmed" timeout next to the device, refuses timeouts above
 * i6300esb's 2046 s as the kernel does with EINVAL, and logs its arguments).
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STUB = `#!/bin/sh
printf '%s\\n' "$*" >> "$0.log"
set_to=""
while [ $# -gt 1 ]; do
  case "$1" in
    --settimeout) set_to="$2"; shift 2 ;;
    *) shift ;;
  esac
done
dev="$1"
if [ ! -e "$dev" ]; then
  echo "wdctl: cannot open $dev: No such file or directory" >&2
  exit 1
fi
if [ -n "$set_to" ]; then
  if [ "$set_to" -gt 2046 ]; then
    echo "wdctl: cannot set timeout for $dev: Invalid argument" >&2
    exit 1
  fi
  echo "$set_to" > "$dev.timeout"
  echo "Timeout has been set to $set_to seconds."
fi
t=30
[ -f "$dev.timeout" ] && t=$(cat "$dev.timeout")
echo "$dev: TIMEOUT=\\"$t\\" PRETIMEOUT=\\"0\\" TIMELEFT=\\"$t\\""
`;

/**
 * A script that hangs the way wdctl does on a FIFO nobody reads: deaf to SIGTERM (an ignored signal stays
 * ignored across exec). It logs its PID.
 */
const HANG = `#!/bin/sh
echo $$ > "$0.pid"
trap '' TERM INT
exec sleep 600
`;

export class StandIn {
  readonly dir = mkdtempSync(join(tmpdir(), 'tnd-wd-'));
  readonly device = join(this.dir, 'watchdog0');
  readonly missing = join(this.dir, 'watchdog9');
  readonly wdctl = join(this.dir, 'wdctl');
  readonly hangingWdctl = join(this.dir, 'wdctl-hang');

  constructor() {
    writeFileSync(this.device, '');
    writeFileSync(this.wdctl, STUB);
    chmodSync(this.wdctl, 0o755);
    writeFileSync(this.hangingWdctl, HANG);
    chmodSync(this.hangingWdctl, 0o755);
  }

  /** Every byte the driver wrote to the device file. */
  bytes(): string {
    return readFileSync(this.device, 'latin1');
  }

  /** The argument lists wdctl was run with. */
  wdctlRuns(): string[] {
    const log = `${this.wdctl}.log`;
    return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  }

  /** The PID the hanging wdctl wrote, once it has started. */
  hangingPid(): number | undefined {
    const file = `${this.hangingWdctl}.pid`;
    return existsSync(file) ? Number(readFileSync(file, 'utf8')) : undefined;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** True while a process with this PID exists (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}
