/**
 * The serial-cable link: the board's heartbeat port at the board's baud, one FrameParser per opening
 * (a byte stream resynchronises after garbage), at most one write in flight. A frame due while a write
 * is still in flight waits in a one-frame slot; a newer frame replaces it (only the newest heartbeat
 * matters). When the port fails or its device goes away (the cable is unplugged, the pty pair restarts),
 * the link closes it and reopens the path every `reopenMs` until it works again.
 */
import { realpath } from 'node:fs/promises';
import type { Clock, Timer } from '../../../hal/clock/types.ts';
import { HalError } from '../../../hal/errors.ts';
import type { SerialDriver, SerialPort } from '../../../hal/serial/types.ts';
import { FrameParser } from '../codec.ts';
import { copyCounters, countErrors, newCounters } from './counters.ts';
import type { FrameSink, HeartbeatLink, LinkLog, LinkStats } from './types.ts';

export interface SerialLinkOptions {
  serial: SerialDriver;
  /** The board's heartbeat port. */
  path: string;
  baudRate: number;
  key: Uint8Array;
  clock: Clock;
  sink: FrameSink;
  log?: LinkLog;
  /** Wait before reopening a failed port, and how often the path is checked for a new device. Default 250. */
  reopenMs?: number;
}

const text = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function startSerialLink(options: SerialLinkOptions): HeartbeatLink {
  return new SerialLink(options);
}

class SerialLink implements HeartbeatLink {
  readonly name = 'serial' as const;
  private readonly o: SerialLinkOptions;
  private readonly reopenMs: number;
  private readonly counters = newCounters();
  private readonly stop = new AbortController();
  private port: SerialPort | undefined;
  private writing = false;
  private pending: Buffer | undefined;
  private lastError: string | undefined;
  private readonly loop: Promise<void>;
  private closing: Promise<void> | undefined;

  constructor(options: SerialLinkOptions) {
    this.o = options;
    this.reopenMs = options.reopenMs ?? 250;
    new FrameParser(options.key); // validates the key now, not at the first open
    this.loop = this.run();
  }

  send(frame: Buffer): void {
    const port = this.port;
    if (port === undefined || !port.isOpen) {
      this.counters.drops.notOpen += 1;
      return;
    }
    if (this.writing) {
      if (this.pending !== undefined) this.counters.drops.superseded += 1;
      this.pending = frame;
      return;
    }
    this.write(port, frame);
  }

  stats(): LinkStats {
    return {
      name: this.name,
      open: this.port?.isOpen ?? false,
      medium: this.o.path,
      lastError: this.lastError,
      counters: copyCounters(this.counters),
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop.abort();
      await this.port?.close();
      await this.loop;
    })();
    return this.closing;
  }

  private write(port: SerialPort, frame: Buffer): void {
    this.writing = true;
    port
      .write(frame)
      .then(
        () => {
          this.counters.framesOut += 1;
        },
        (err: unknown) => {
          if (HalError.is(err, 'HAL_CANCELED') || HalError.is(err, 'HAL_CLOSED'))
            this.counters.drops.notOpen += 1;
          else {
            this.counters.drops.sendFailed += 1;
            this.note(`write failed: ${text(err)}`);
            void port.close();
          }
        },
      )
      .finally(() => {
        this.writing = false;
        const next = this.pending;
        this.pending = undefined;
        if (next === undefined) return;
        if (this.port === port && port.isOpen) this.write(port, next);
        else this.counters.drops.notOpen += 1;
      });
  }

  private note(message: string): void {
    if (this.lastError !== message) this.o.log?.('warn', `serial link ${this.o.path}: ${message}`);
    this.lastError = message;
  }

  private async pause(): Promise<void> {
    try {
      await this.o.clock.sleep(this.reopenMs, { signal: this.stop.signal });
    } catch {
      // closed
    }
  }

  private async run(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      let port: SerialPort;
      // The device behind the path (a symlink to a pty, a by-id name), when the path is a file at all.
      const device = await realpath(this.o.path).catch(() => undefined);
      try {
        port = await this.o.serial.open(this.o.path, { baudRate: this.o.baudRate });
      } catch (err) {
        this.note(`cannot open: ${text(err)}`);
        await this.pause();
        continue;
      }
      if (signal.aborted) {
        await port.close();
        break;
      }
      this.port = port;
      this.counters.opens += 1;
      if (this.lastError !== undefined) this.o.log?.('info', `serial link ${this.o.path}: open again`);
      this.lastError = undefined;
      const watch = device === undefined ? { cancel: () => {} } : this.watchDevice(port, device);
      await this.readAll(port);
      watch.cancel();
      this.port = undefined;
      await port.close();
      if (!signal.aborted) await this.pause();
    }
  }

  private async readAll(port: SerialPort): Promise<void> {
    const parser = new FrameParser(this.o.key);
    try {
      for await (const chunk of port.chunks({ signal: this.stop.signal })) {
        this.counters.bytesIn += chunk.length;
        const { frames, errors } = parser.push(chunk);
        countErrors(this.counters, errors);
        for (const hb of frames) {
          this.counters.framesIn += 1;
          try {
            this.o.sink(hb);
          } catch (err) {
            this.o.log?.('error', `serial link: the frame sink threw: ${text(err)}`);
          }
        }
      }
    } catch (err) {
      if (!this.stop.signal.aborted) this.note(`read failed: ${text(err)}`);
    }
    countErrors(this.counters, parser.end());
  }

  /** Closes the port when its path starts to name another device (a new pty pair, a replugged adapter). */
  private watchDevice(port: SerialPort, device: string): { cancel(): void } {
    let timer: Timer | undefined;
    const check = (): void => {
      realpath(this.o.path)
        .then(
          (now) => now === device,
          () => false,
        )
        .then((same) => {
          if (!port.isOpen) return;
          if (!same) {
            this.note('the device behind the path changed: reopening');
            void port.close();
            return;
          }
          timer = this.o.clock.setTimer(this.reopenMs, check);
        });
    };
    timer = this.o.clock.setTimer(this.reopenMs, check);
    return { cancel: () => timer?.cancel() };
  }
}
