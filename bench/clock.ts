/** Timer accuracy of the host clock driver: how late a timer fires (heartbeat timing depends on it). */
import { LinuxClock } from '../hal/clock/linux.ts';
import { benchMain, type Figures, percentile } from './lib/figures.ts';

export async function run(): Promise<Figures> {
  const clock = new LinuxClock();
  const lateness: number[] = [];
  for (let i = 0; i < 500; i++) {
    const armed = clock.now();
    await clock.sleep(2);
    lateness.push(clock.now() - armed - 2);
  }
  return {
    'timer lateness p50 (ms)': percentile(lateness, 50),
    'timer lateness p99 (ms)': percentile(lateness, 99),
    'timer lateness max (ms)': Math.max(...lateness),
    samples: lateness.length,
  };
}

await benchMain(import.meta, 'clock', run);
