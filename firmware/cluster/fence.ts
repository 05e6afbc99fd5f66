/**
 * The peer-fence line (STONITH): an output on the board's GPIO chip that cuts the peer's power or holds
 * it in reset while driven. Requested once at start and held (driven inactive), so nothing else can
 * take it; a fence is a pulse of `pulseMs`.
 */
import type { Clock } from '../../hal/clock/types.ts';
import type { GpioChip, GpioDriver, GpioLine } from '../../hal/gpio/types.ts';

export interface FenceOptions {
  gpio: GpioDriver;
  chip: string;
  line: number;
  activeLow: boolean;
  pulseMs: number;
  clock: Clock;
}

export interface Fence {
  /**
   * Drives the line for `pulseMs`. Resolves true once the pulse is complete. An abort before the pulse
   * starts leaves the line alone; an abort during it ends it early. Either way the result is false.
   */
  pulse(signal: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

export async function openFence(o: FenceOptions): Promise<Fence> {
  if (!Number.isFinite(o.pulseMs) || o.pulseMs <= 0) {
    throw new RangeError(
      `fence pulseMs should be a positive number of milliseconds, instead got ${o.pulseMs}`,
    );
  }
  const chip: GpioChip = await o.gpio.openChip(o.chip);
  let line: GpioLine;
  try {
    line = await chip.request({
      line: o.line,
      consumer: 'tandem-fence',
      direction: 'output',
      initial: 0,
      activeLow: o.activeLow,
    });
  } catch (err) {
    await chip.close();
    throw err;
  }
  let busy = false;
  return {
    async pulse(signal) {
      if (signal.aborted || busy || !line.isOpen) return false;
      busy = true;
      line.set(1);
      try {
        await o.clock.sleep(o.pulseMs, { signal });
        return true;
      } catch {
        return false;
      } finally {
        if (line.isOpen) line.set(0);
        busy = false;
      }
    },
    async close() {
      await chip.close();
    },
  };
}
