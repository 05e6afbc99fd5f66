import type { Clock } from '../clock/types.ts';
import { HalError } from '../errors.ts';
import type { Rng } from '../sim/rng.ts';
import type { SimSerialEnd } from './sim-uart.ts';
import type { SerialOptions } from './types.ts';

/** Faults on one direction of the cable. A test may change them at any time; they apply from then on. */
export interface SerialFaults {
  /** Probability that each byte is lost on the wire. */
  lossRate: number;
  /** Probability that all the bytes of one write() are lost together (a burst of noise). */
  chunkLossRate: number;
  /** Probability that each byte arrives with one of its data bits flipped. */
  corruptRate: number;
  /**
   * One-way latency drawn once per write(): `minDelayMs` plus an exponential with mean
   * `meanDelayMs - minDelayMs` (a mean at or below the minimum gives a fixed delay). Bytes never
   * overtake each other, so a write never arrives before an earlier one.
   */
  minDelayMs: number;
  meanDelayMs: number;
}

/** Byte counts for one direction of the cable. */
export interface SerialLineStats {
  /** Bytes that left the sending UART. */
  sent: number;
  /** Bytes placed in the receiver's buffer (corrupted and garbled ones included). */
  delivered: number;
  /** Lost to `lossRate` or `chunkLossRate`. */
  lost: number;
  /** Lost because the cable was cut when they were sent or while they were on the wire. */
  cut: number;
  /** Delivered with a bit flipped by `corruptRate`. */
  corrupted: number;
  /** Delivered as garbage because the two ends' baud rate or framing differ. */
  garbled: number;
  /** Dropped because the receiver's buffer was full (nobody reading). */
  overrun: number;
  /** Dropped because the receiving port was not open. */
  unheard: number;
}

export const NO_FAULTS: SerialFaults = {
  lossRate: 0,
  chunkLossRate: 0,
  corruptRate: 0,
  minDelayMs: 0,
  meanDelayMs: 0,
};

export function checkFaults(faults: Partial<SerialFaults>): void {
  for (const key of ['lossRate', 'chunkLossRate', 'corruptRate'] as const) {
    const v = faults[key];
    if (v !== undefined && !(v >= 0 && v <= 1)) {
      throw new HalError('HAL_INVALID_ARGUMENT', `serial cable fault ${key} must be in [0, 1], got ${v}`);
    }
  }
  for (const key of ['minDelayMs', 'meanDelayMs'] as const) {
    const v = faults[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) {
      throw new HalError(
        'HAL_INVALID_ARGUMENT',
        `serial cable fault ${key} must be a finite number >= 0, got ${v}`,
      );
    }
  }
}

const sameFraming = (x: Required<SerialOptions>, y: Required<SerialOptions>): boolean =>
  x.baudRate === y.baudRate &&
  x.dataBits === y.dataBits &&
  x.parity === y.parity &&
  x.stopBits === y.stopBits;

/** One direction of the cable: its faults, cut state and counters, delivering into the far UART. */
export class Line {
  faults: SerialFaults;
  cut = false;
  /** Bumped by every cut, so bytes on the wire at a cut are lost even if it is restored before they land. */
  cutEpoch = 0;
  lastArrival = Number.NEGATIVE_INFINITY;
  readonly stats: SerialLineStats = {
    sent: 0,
    delivered: 0,
    lost: 0,
    cut: 0,
    corrupted: 0,
    garbled: 0,
    overrun: 0,
    unheard: 0,
  };

  constructor(
    readonly rng: Rng,
    faults: SerialFaults,
    private readonly clock: Clock,
  ) {
    this.faults = faults;
  }

  to: SimSerialEnd | undefined;

  /** Puts `bytes` (already past loss and corruption) on the wire, landing after `delayMs`. */
  carry(bytes: Uint8Array, delayMs: number, sender: Required<SerialOptions>): void {
    const now = this.clock.now();
    const arrival = Math.max(this.lastArrival, now + delayMs);
    this.lastArrival = arrival;
    const epoch = this.cutEpoch;
    this.clock.setTimer(arrival - now, () => {
      if (this.cut || epoch !== this.cutEpoch) this.stats.cut += bytes.length;
      else this.land(bytes, sender);
    });
  }

  land(bytes: Uint8Array, sender: Required<SerialOptions> | undefined): void {
    const end = this.to as SimSerialEnd;
    const receiver = end.options;
    if (receiver === undefined) {
      this.stats.unheard += bytes.length;
      return;
    }
    let data = bytes;
    if (sender !== undefined && !sameFraming(sender, receiver)) {
      data = Uint8Array.from(bytes, () => this.rng.u32() & 0xff);
      this.stats.garbled += bytes.length;
    }
    const mask = (1 << receiver.dataBits) - 1;
    const room = Math.max(0, end.rxCapacity - end.rx.length);
    const accepted = Uint8Array.from(data.subarray(0, room), (b) => b & mask);
    this.stats.overrun += data.length - accepted.length;
    this.stats.delivered += accepted.length;
    end.rx.push(accepted);
    end.arrivals.wake();
  }
}
