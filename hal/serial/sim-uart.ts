import type { Clock, Timer } from '../clock/types.ts';
import { ByteQueue } from './byte-queue.ts';
import { frameBits } from './options.ts';
import type { Line } from './sim-line.ts';
import type { SerialOptions } from './types.ts';
import { Waiters } from './wait.ts';

/** Float slack when comparing a byte's end time with the timer that fires for it. */
const EPSILON_MS = 1e-6;

interface TxPiece {
  bytes: Uint8Array;
  offset: number;
  writeId: number;
}

/**
 * The UART at one end of the cable: a transmit buffer shifted out at the baud rate (frame bits per byte,
 * 10 for 8N1) and a receive buffer. SimSerialPort drives it; tests reach it through the cable.
 */
export class SimSerialEnd {
  /** The open port's options, undefined while closed. */
  options: Required<SerialOptions> | undefined;
  attached = false;
  readonly rx = new ByteQueue();
  readonly arrivals = new Waiters();
  /** Woken when transmit-buffer space frees up or the UART goes idle. */
  readonly progress = new Waiters();
  private readonly tx: TxPiece[] = [];
  private txBytes = 0;
  private shiftTimer: Timer | undefined;
  private burstStart = 0;
  private burstSent = 0;
  private lastShiftAt = Number.NEGATIVE_INFINITY;
  private lineFreeAt = Number.NEGATIVE_INFINITY;
  private nextWriteId = 0;
  private drawnFor = -1;
  private drawn = { delayMs: 0, lost: false };

  constructor(
    readonly name: string,
    private readonly out: Line,
    private readonly clock: Clock,
    readonly txCapacity: number,
    readonly rxCapacity: number,
    private readonly tickMs: number,
  ) {}

  open(options: Required<SerialOptions>): void {
    this.options = options;
    this.rx.clear();
  }

  close(): void {
    this.discard();
    this.options = undefined;
  }

  /** Empties both buffers (bytes already on the wire still land). */
  discard(): void {
    this.rx.clear();
    this.tx.length = 0;
    this.txBytes = 0;
    this.shiftTimer?.cancel();
    this.shiftTimer = undefined;
    this.progress.wake();
  }

  txRoom(): number {
    return this.txCapacity - this.txBytes;
  }

  /** True when everything queued has left the UART. */
  idle(): boolean {
    return this.txBytes === 0 && this.clock.now() + EPSILON_MS >= this.lineFreeAt;
  }

  newWriteId(): number {
    return this.nextWriteId++;
  }

  /** Queues bytes that fit in the transmit buffer (the caller checked txRoom). */
  enqueue(bytes: Uint8Array, writeId: number): void {
    this.tx.push({ bytes, offset: 0, writeId });
    this.txBytes += bytes.length;
    if (this.shiftTimer === undefined) {
      const now = this.clock.now();
      this.burstStart = Math.max(now, this.lineFreeAt);
      this.burstSent = 0;
      this.scheduleShift(now);
    }
  }

  private byteMs(): number {
    const options = this.options;
    return options === undefined ? 0 : (frameBits(options) * 1000) / options.baudRate;
  }

  private scheduleShift(now: number): void {
    const nextEnd = this.burstStart + (this.burstSent + 1) * this.byteMs();
    const at = Math.max(nextEnd, this.lastShiftAt + this.tickMs, now);
    this.shiftTimer = this.clock.setTimer(at - now, () => this.shift());
  }

  /** Sends every byte whose last bit has gone by now. */
  private shift(): void {
    this.shiftTimer = undefined;
    const now = this.clock.now();
    this.lastShiftAt = now;
    const byteMs = this.byteMs();
    const due = Math.floor((now - this.burstStart + EPSILON_MS) / byteMs) - this.burstSent;
    let count = Math.min(this.txBytes, Math.max(0, due));
    this.burstSent += count;
    this.txBytes -= count;
    while (count > 0) {
      const piece = this.tx[0] as TxPiece;
      const n = Math.min(count, piece.bytes.length - piece.offset);
      this.send(piece.bytes.subarray(piece.offset, piece.offset + n), piece.writeId);
      piece.offset += n;
      count -= n;
      if (piece.offset === piece.bytes.length) this.tx.shift();
    }
    this.lineFreeAt = this.burstStart + this.burstSent * byteMs;
    if (this.txBytes > 0) this.scheduleShift(now);
    this.progress.wake();
  }

  private send(bytes: Uint8Array, writeId: number): void {
    const line = this.out;
    const options = this.options as Required<SerialOptions>;
    const { faults, rng, stats } = line;
    stats.sent += bytes.length;
    if (this.drawnFor !== writeId) {
      this.drawnFor = writeId;
      const spread = Math.max(0, faults.meanDelayMs - faults.minDelayMs);
      const delayMs = faults.minDelayMs + (spread > 0 ? -Math.log(1 - rng.float()) * spread : 0);
      this.drawn = { delayMs, lost: rng.chance(faults.chunkLossRate) };
    }
    if (line.cut) {
      stats.cut += bytes.length;
      return;
    }
    if (this.drawn.lost) {
      stats.lost += bytes.length;
      return;
    }
    const mask = (1 << options.dataBits) - 1;
    const kept: number[] = [];
    for (const byte of bytes) {
      if (rng.chance(faults.lossRate)) {
        stats.lost++;
        continue;
      }
      let value = byte & mask;
      if (rng.chance(faults.corruptRate)) {
        value ^= 1 << rng.int(0, options.dataBits - 1);
        stats.corrupted++;
      }
      kept.push(value);
    }
    if (kept.length > 0) line.carry(Uint8Array.from(kept), this.drawn.delayMs, options);
  }
}
