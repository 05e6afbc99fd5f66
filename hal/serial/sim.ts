import { HalError } from '../errors.ts';
import { readChunks } from './chunks.ts';
import { PortGuard } from './guard.ts';
import { checkBytes, checkMaxBytes, checkPath, resolveOptions } from './options.ts';
import type { SimSerialEnd } from './sim-uart.ts';
import type {
  ReadOptions,
  SerialDriver,
  SerialOptions,
  SerialPort,
  SerialPortInfo,
  WaitOptions,
} from './types.ts';
import { raceAbort } from './wait.ts';

export {
  type CableDirection,
  type CableEndName,
  SimSerialCable,
  type SimSerialCableOptions,
} from './sim-cable.ts';
export type { SerialFaults, SerialLineStats } from './sim-line.ts';
export type { SimSerialEnd } from './sim-uart.ts';

/**
 * The simulated serial driver of one simulated machine: its paths are the cable ends attached to it
 * (`attach('/dev/ttyS1', cable.a)`). Apart from `attach` it rejects exactly what LinuxSerialDriver
 * rejects, with the same codes.
 */
export class SimSerialDriver implements SerialDriver {
  private readonly ends = new Map<string, SimSerialEnd>();

  /** Test hook: makes `end` reachable as `path`. An end can be attached once, a path used once. */
  attach(path: string, end: SimSerialEnd): void {
    checkPath(path);
    if (this.ends.has(path)) {
      throw new HalError('HAL_INVALID_ARGUMENT', `serial path ${path} is already attached`, { device: path });
    }
    if (end.attached) {
      throw new HalError('HAL_INVALID_ARGUMENT', `serial cable end ${end.name} is already attached`, {
        device: path,
      });
    }
    end.attached = true;
    this.ends.set(path, end);
  }

  async list(): Promise<SerialPortInfo[]> {
    return [...this.ends.keys()].sort().map((path) => ({
      path,
      manufacturer: undefined,
      serialNumber: undefined,
      vendorId: undefined,
      productId: undefined,
    }));
  }

  async open(path: string, options: SerialOptions): Promise<SerialPort> {
    checkPath(path);
    const resolved = resolveOptions(path, options);
    const end = this.ends.get(path);
    if (end === undefined) {
      throw new HalError('HAL_NOT_FOUND', `cannot open serial port ${path}: no such device`, {
        device: path,
      });
    }
    if (end.options !== undefined) {
      throw new HalError('HAL_BUSY', `serial port ${path} is already open`, { device: path });
    }
    end.open(resolved);
    return new SimSerialPort(path, resolved, end);
  }
}

class SimSerialPort implements SerialPort {
  private readonly guard: PortGuard;
  private currentWrite: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    readonly options: Readonly<Required<SerialOptions>>,
    private readonly end: SimSerialEnd,
  ) {
    this.guard = new PortGuard(path);
  }

  get isOpen(): boolean {
    return !this.guard.closed;
  }

  read(options: ReadOptions = {}): Promise<Buffer> {
    return this.guard.run('read', options.signal, async (signal) => {
      const max = checkMaxBytes(this.path, options.maxBytes);
      while (this.end.rx.length === 0) await this.end.arrivals.wait(signal);
      signal.throwIfAborted();
      return this.end.rx.take(max);
    });
  }

  write(bytes: Uint8Array, options: WaitOptions = {}): Promise<void> {
    const op = this.guard.run('write', options.signal, async (signal) => {
      const data = Uint8Array.from(checkBytes(this.path, bytes));
      const writeId = this.end.newWriteId();
      let offset = 0;
      while (offset < data.length) {
        const room = this.end.txRoom();
        if (room === 0) {
          await this.end.progress.wait(signal);
          signal.throwIfAborted();
          continue;
        }
        const n = Math.min(room, data.length - offset);
        this.end.enqueue(data.subarray(offset, offset + n), writeId);
        offset += n;
      }
    });
    this.currentWrite = op.catch(() => undefined);
    return op;
  }

  drain(options: WaitOptions = {}): Promise<void> {
    return this.guard.run(undefined, options.signal, async (signal) => {
      await raceAbort(this.currentWrite, signal);
      while (!this.end.idle()) await this.end.progress.wait(signal);
    });
  }

  flush(): Promise<void> {
    return this.guard.run(undefined, undefined, async () => {
      this.end.discard();
    });
  }

  close(): Promise<void> {
    if (this.closing === undefined) {
      this.guard.close();
      this.end.close();
      this.closing = Promise.resolve();
    }
    return this.closing;
  }

  chunks(options: WaitOptions = {}): AsyncIterable<Buffer> {
    return readChunks(this, options);
  }
}
