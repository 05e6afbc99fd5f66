import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LinuxBinding, type LinuxPortBinding, type PortInfo } from '@serialport/bindings-cpp';
import { fromSystemError, HalError, type HalErrorCode } from '../errors.ts';
import { ByteQueue } from './byte-queue.ts';
import { readChunks } from './chunks.ts';
import { PortGuard } from './guard.ts';
import { checkBytes, checkMaxBytes, checkPath, resolveOptions } from './options.ts';
import type {
  ReadOptions,
  SerialDriver,
  SerialOptions,
  SerialPort,
  SerialPortInfo,
  WaitOptions,
} from './types.ts';
import { raceAbort, Waiters } from './wait.ts';

/** How much one OS read may take. */
const READ_CHUNK = 65536;
/** Writes go to the binding in pieces this size, so an abort stops a long write between pieces. */
const WRITE_CHUNK = 4096;

/**
 * Serial ports on serialport's Linux binding (@serialport/bindings-cpp): it validates, keeps the contract's
 * bookkeeping, and delegates the I/O. Ports are opened with an exclusive lock (flock), so another
 * process holding the port gives HAL_BUSY too.
 */
export class LinuxSerialDriver implements SerialDriver {
  /** Real path of each device this driver has open → the path it was opened as. */
  private readonly openDevices = new Map<string, string>();

  async list(): Promise<SerialPortInfo[]> {
    try {
      return (await LinuxBinding.list()).map(toInfo);
    } catch (err) {
      // The binding lists through udevadm; an image without udev still has sysfs.
      const udevMissing = typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT';
      if (udevMissing) return listFromSysfs();
      throw fromSystemError(err, 'udevadm', 'cannot list serial ports with');
    }
  }

  async open(path: string, options: SerialOptions): Promise<SerialPort> {
    checkPath(path);
    const resolved = resolveOptions(path, options);
    let device: string;
    try {
      device = await realpath(path);
      if (!(await stat(device)).isCharacterDevice()) {
        throw new HalError('HAL_INVALID_ARGUMENT', `serial port ${path} is not a character device`, {
          device: path,
        });
      }
    } catch (err) {
      throw fromSystemError(err, path, 'cannot open serial port');
    }
    const openAs = this.openDevices.get(device);
    if (openAs !== undefined) {
      const alias = openAs === path ? '' : ` as ${openAs}`;
      throw new HalError('HAL_BUSY', `serial port ${path} is already open${alias}`, { device: path });
    }
    this.openDevices.set(device, path);
    let binding: LinuxPortBinding | undefined;
    try {
      binding = await LinuxBinding.open({ path: device, ...resolved, lock: true });
      // The contract: nothing received before open is read after it.
      await binding.flush();
    } catch (err) {
      this.openDevices.delete(device);
      await binding?.close().catch(() => undefined);
      throw openError(err, path);
    }
    return new LinuxSerialPort(path, resolved, binding, () => this.openDevices.delete(device));
  }
}

class LinuxSerialPort implements SerialPort {
  private readonly guard: PortGuard;
  private readonly received = new ByteQueue();
  private readonly arrivals = new Waiters();
  private readonly pumpBuffer = Buffer.allocUnsafe(READ_CHUNK);
  /** True while one binding.read is outstanding; at most one ever is, even across aborted reads. */
  private pumping = false;
  private readFailure: HalError | undefined;
  /** The binding write still running, which may outlive an aborted write() call. */
  private writeTail: Promise<unknown> = Promise.resolve();
  private currentWrite: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    readonly options: Readonly<Required<SerialOptions>>,
    private readonly binding: LinuxPortBinding,
    private readonly release: () => void,
  ) {
    this.guard = new PortGuard(path);
  }

  get isOpen(): boolean {
    return !this.guard.closed;
  }

  read(options: ReadOptions = {}): Promise<Buffer> {
    return this.guard.run('read', options.signal, async (signal) => {
      const max = checkMaxBytes(this.path, options.maxBytes);
      while (this.received.length === 0) {
        if (this.readFailure !== undefined) throw this.readFailure;
        this.pump();
        await this.arrivals.wait(signal);
      }
      signal.throwIfAborted();
      return this.received.take(max);
    });
  }

  write(bytes: Uint8Array, options: WaitOptions = {}): Promise<void> {
    const op = this.guard.run('write', options.signal, async (signal) => {
      // A copy: the caller may reuse its buffer once write() settles, even by abort.
      const data = Buffer.from(checkBytes(this.path, bytes));
      await raceAbort(this.writeTail, signal);
      for (let offset = 0; offset < data.length; offset += WRITE_CHUNK) {
        signal.throwIfAborted();
        const piece = this.binding.write(data.subarray(offset, offset + WRITE_CHUNK));
        this.writeTail = piece.catch(() => undefined);
        try {
          await raceAbort(piece, signal);
        } catch (err) {
          throw signal.aborted
            ? signal.reason
            : fromSystemError(err, this.path, 'cannot write to serial port');
        }
      }
    });
    this.currentWrite = op.catch(() => undefined);
    return op;
  }

  drain(options: WaitOptions = {}): Promise<void> {
    return this.guard.run(undefined, options.signal, async (signal) => {
      await raceAbort(this.currentWrite, signal);
      await raceAbort(this.writeTail, signal);
      try {
        await raceAbort(this.binding.drain(), signal);
      } catch (err) {
        throw signal.aborted ? signal.reason : fromSystemError(err, this.path, 'cannot drain serial port');
      }
    });
  }

  flush(): Promise<void> {
    return this.guard.run(undefined, undefined, async () => {
      try {
        await this.binding.flush();
      } catch (err) {
        throw fromSystemError(err, this.path, 'cannot flush serial port');
      }
      this.received.clear();
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shut();
    return this.closing;
  }

  chunks(options: WaitOptions = {}): AsyncIterable<Buffer> {
    return readChunks(this, options);
  }

  private async shut(): Promise<void> {
    this.guard.close();
    this.received.clear();
    try {
      await this.binding.close();
    } catch (err) {
      throw fromSystemError(err, this.path, 'cannot close serial port');
    } finally {
      this.release();
    }
  }

  /** Starts the one outstanding OS read if none is running; what it reads waits in `received`. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.binding.read(this.pumpBuffer, 0, READ_CHUNK).then(
      ({ bytesRead }) => {
        this.pumping = false;
        if (!this.guard.closed) this.received.push(Buffer.from(this.pumpBuffer.subarray(0, bytesRead)));
        this.arrivals.wake();
      },
      (err: unknown) => {
        this.pumping = false;
        if (!this.guard.closed) {
          this.readFailure = new HalError(
            'HAL_IO',
            `cannot read from serial port ${this.path}: ${describe(err)}`,
            {
              device: this.path,
              cause: err,
            },
          );
        }
        this.arrivals.wake();
      },
    );
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The addon reports open failures as strerror text with no errno, so the text is all there is to map.
 * Only the addon's errors go through here; our own arrive as HalErrors.
 */
function openError(err: unknown, path: string): HalError {
  if (err instanceof HalError) return err;
  const text = describe(err);
  const code: HalErrorCode = /Cannot lock port|Resource temporarily unavailable|Device or resource busy/.test(
    text,
  )
    ? 'HAL_BUSY'
    : /Permission denied|Operation not permitted/.test(text)
      ? 'HAL_PERMISSION'
      : /No such file|No such device/.test(text)
        ? 'HAL_NOT_FOUND'
        : /Invalid argument/.test(text)
          ? 'HAL_INVALID_ARGUMENT'
          : 'HAL_IO';
  return new HalError(code, `cannot open serial port ${path}: ${text}`, { device: path, cause: err });
}

function toInfo(port: PortInfo): SerialPortInfo {
  return {
    path: port.path,
    manufacturer: port.manufacturer,
    serialNumber: port.serialNumber,
    vendorId: port.vendorId,
    productId: port.productId,
  };
}

/** Ports as sysfs shows them: a tty with a backing device is a serial port (virtual consoles have none). */
async function listFromSysfs(): Promise<SerialPortInfo[]> {
  const base = '/sys/class/tty';
  const names = await readdir(base).catch(() => [] as string[]);
  const found: SerialPortInfo[] = [];
  for (const name of names.sort()) {
    const hasDevice = await stat(join(base, name, 'device')).then(
      () => true,
      () => false,
    );
    if (hasDevice) {
      found.push({
        path: `/dev/${name}`,
        manufacturer: undefined,
        serialNumber: undefined,
        vendorId: undefined,
        productId: undefined,
      });
    }
  }
  return found;
}
