import { readFileSync } from 'node:fs';

/** Jiffies per second of /proc/stat (USER_HZ, 100 on every Linux architecture Tandem runs on). */
const USER_HZ = 100;

/**
 * The whole machine's CPU time so far (s): busy (user, nice, system, irq, softirq), of it the ticks that
 * found a CPU in softirq (without IRQ_TIME_ACCOUNTING these are also charged to the task they interrupted),
 * and what the host stole.
 */
export interface MachineCpu {
  readonly busy: number;
  readonly softirq: number;
  readonly steal: number;
}

export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = [user, nice, system, irq, softirq].reduce<number>((sum, x) => sum + (x ?? Number.NaN), 0);
  return {
    busy: busy / USER_HZ,
    softirq: (softirq ?? Number.NaN) / USER_HZ,
    steal: (steal ?? Number.NaN) / USER_HZ,
  };
}

/** What the machine spent between two readings (s). */
export const cpuSince = (before: MachineCpu, after = machineCpu()): MachineCpu => ({
  busy: after.busy - before.busy,
  softirq: after.softirq - before.softirq,
  steal: after.steal - before.steal,
});
