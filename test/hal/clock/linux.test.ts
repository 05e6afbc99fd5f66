import { LinuxClock } from '../../../hal/clock/linux.ts';
import { clockContract } from './contract.ts';

clockContract('linux', () => {
  const clock = new LinuxClock();
  return { clock, wait: (ms) => new Promise((r) => setTimeout(r, ms)) };
});
