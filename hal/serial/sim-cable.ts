import type { Clock } from '../clock/types.ts';
import { HalError } from '../errors.ts';
import type { Rng } from '../sim/rng.ts';
import { checkFaults, Line, NO_FAULTS, type SerialFaults, type SerialLineStats } from './sim-line.ts';
import { SimSerialEnd } from './sim-uart.ts';

export type CableDirection = 'ab' | 'ba';
export type CableEndName = 'a' | 'b';

export interface SimSerialCableOptions {
  /** Drives byte timing and latency (a SimClock in tests). */
  clock: Clock;
  /** Draws every fault; the cable forks one generator per direction. */
  rng: Rng;
  /** Faults on both directions from the start. */
  faults?: Partial<SerialFaults>;
  /** Each UART's transmit buffer: write() resolves once its bytes fit. Default 4096. */
  txBufferBytes?: number;
  /** Each UART's receive buffer: bytes arriving when it is full are dropped (overrun). Default 4096. */
  rxBufferBytes?: number;
  /** Bytes leave a UART in batches at most this often (ms), to bound timer count at high rates. Default 1. */
  tickMs?: number;
}

function checkSize(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value > 0)) {
    throw new HalError('HAL_INVALID_ARGUMENT', `serial cable ${name} must be a number > 0, got ${value}`);
  }
  return value;
}

/**
 * A simulated null-modem cable: two UARTs (`a`, `b`) joined by two lines, `ab` and `ba`. Attach each end
 * to a SimSerialDriver under a path; the ports opened there talk to each other. Faults, cut/restore and
 * counters are per direction (both by default), drawn from the cable's Rng, timed by its Clock.
 */
export class SimSerialCable {
  readonly a: SimSerialEnd;
  readonly b: SimSerialEnd;
  private readonly lines: Record<CableDirection, Line>;

  constructor(options: SimSerialCableOptions) {
    const faults = { ...NO_FAULTS, ...options.faults };
    checkFaults(faults);
    const tx = checkSize('txBufferBytes', options.txBufferBytes, 4096);
    const rx = checkSize('rxBufferBytes', options.rxBufferBytes, 4096);
    const tick = checkSize('tickMs', options.tickMs, 1);
    const { clock, rng } = options;
    this.lines = {
      ab: new Line(rng.fork(), { ...faults }, clock),
      ba: new Line(rng.fork(), { ...faults }, clock),
    };
    this.a = new SimSerialEnd('a', this.lines.ab, clock, tx, rx, tick);
    this.b = new SimSerialEnd('b', this.lines.ba, clock, tx, rx, tick);
    this.lines.ab.to = this.b;
    this.lines.ba.to = this.a;
  }

  /** Changes some faults on one direction, or both; the rest stay as they were. */
  setFaults(faults: Partial<SerialFaults>, direction?: CableDirection): void {
    checkFaults(faults);
    for (const line of this.pick(direction)) line.faults = { ...line.faults, ...faults };
  }

  faults(direction: CableDirection): Readonly<SerialFaults> {
    return { ...this.lines[direction].faults };
  }

  /** Cuts the cable (one direction or both): bytes sent, or on the wire, until restore() are lost. */
  cut(direction?: CableDirection): void {
    for (const line of this.pick(direction)) {
      line.cut = true;
      line.cutEpoch++;
    }
  }

  restore(direction?: CableDirection): void {
    for (const line of this.pick(direction)) line.cut = false;
  }

  isCut(direction: CableDirection): boolean {
    return this.lines[direction].cut;
  }

  stats(direction: CableDirection): Readonly<SerialLineStats> {
    return { ...this.lines[direction].stats };
  }

  /** Places bytes straight into one end's receive buffer, as if they had just arrived intact. */
  inject(to: CableEndName, bytes: Uint8Array): void {
    (to === 'a' ? this.lines.ba : this.lines.ab).land(Uint8Array.from(bytes), undefined);
  }

  private pick(direction: CableDirection | undefined): Line[] {
    return direction === undefined ? [this.lines.ab, this.lines.ba] : [this.lines[direction]];
  }
}
