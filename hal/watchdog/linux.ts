import { constants, type promises as fsp } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { abortError, fromSystemError, HalError } from '../errors.ts';
import { busyError, checkCloseArgs, checkOpenArgs, closedError } from './checks.ts';
import type { WatchdogCloseOptions, WatchdogDriver, WatchdogHandle, WatchdogOpenOptions } from './types.ts';
import { wdctlTimeout } from './wdctl.ts';

export interface LinuxWatchdogOptions {
  /** The util-linux wdctl program; default 'wdctl'. */
  wdctl?: string;
  /** How long one wdctl run may take before it is killed; default 10 s. */
  wdctlTimeoutMs?: number;
}

/** Any byte but 'V' is a keep-alive; a 'V' would arm the magic close. */
const KEEPALIVE = Buffer.from([0]);
const MAGIC = Buffer.from('V', 'latin1');

/**
 * The kernel watchdog interface (Documentation/watchdog/watchdog-api.rst): opening /dev/watchdogN arms it,
 * every write is a keep-alive, and a write containing 'V' followed by close() is the magic close that
 * disarms it. The timeout is set and read through wdctl (see wdctl.ts) before the device is opened,
 * because the ioctls are out of Node's reach and wdctl cannot open a device we hold.
 */
export class LinuxWatchdog implements WatchdogDriver {
  private readonly tool: string;
  private readonly toolTimeoutMs: number;
  /** Devices this driver holds or is opening: the kernel refuses a second opener with EBUSY anyway. */
  private readonly held = new Set<string>();

  constructor(options: LinuxWatchdogOptions = {}) {
    this.tool = options.wdctl ?? 'wdctl';
    this.toolTimeoutMs = options.wdctlTimeoutMs ?? 10_000;
  }

  async open(device: string, options: WatchdogOpenOptions = {}): Promise<WatchdogHandle> {
    const { timeoutS, signal } = options;
    checkOpenArgs(device, timeoutS);
    if (signal?.aborted) throw abortError(signal, device);
    const key = resolve(device);
    if (this.held.has(key)) throw busyError(device);
    this.held.add(key);
    try {
      await stat(device).catch((err: unknown) => {
        throw fromSystemError(err, device, 'cannot open watchdog');
      });
      const reported = await wdctlTimeout(device, timeoutS, {
        tool: this.tool,
        timeoutMs: this.toolTimeoutMs,
        signal,
      });
      const effectiveS = reported ?? timeoutS;
      if (effectiveS === undefined) {
        throw new HalError(
          'HAL_UNSUPPORTED',
          `watchdog ${device} does not report its timeout; pass timeoutS`,
          {
            device,
          },
        );
      }
      if (signal?.aborted) throw abortError(signal, device);
      const fh = await openDevice(device);
      if (signal?.aborted) {
        // Armed a moment ago: disarm before reporting the abort, or the box would reset.
        await fh.write(MAGIC).catch(() => {});
        await fh.close().catch(() => {});
        throw abortError(signal, device);
      }
      return new LinuxWatchdogHandle(device, effectiveS, fh, () => this.held.delete(key));
    } catch (err) {
      this.held.delete(key);
      throw err;
    }
  }
}

async function openDevice(device: string): Promise<fsp.FileHandle> {
  try {
    // Never O_CREAT: a missing /dev/watchdog must not become a regular file. A character device ignores
    // O_APPEND and O_NONBLOCK; they make a file standing in for it keep every byte written, and a FIFO
    // fail (ENXIO) instead of hanging when nobody reads it.
    return await open(device, constants.O_WRONLY | constants.O_APPEND | constants.O_NONBLOCK);
  } catch (err) {
    throw fromSystemError(err, device, 'cannot open watchdog');
  }
}

class LinuxWatchdogHandle implements WatchdogHandle {
  private open = true;
  /** Writes in call order: a keep-alive after the 'V' would cancel the magic close. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly device: string,
    readonly timeoutS: number,
    private readonly fh: fsp.FileHandle,
    private readonly release: () => void,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  keepAlive(): Promise<void> {
    if (!this.open) return Promise.reject(closedError(this.device));
    return this.enqueue(() => this.write(KEEPALIVE, 'cannot feed watchdog'));
  }

  async close(options: WatchdogCloseOptions): Promise<void> {
    checkCloseArgs(this.device, options);
    if (!this.open) throw closedError(this.device);
    this.open = false;
    let failure: unknown;
    await this.tail;
    if (options.magic) {
      await this.write(MAGIC, 'cannot disarm watchdog').catch((err: unknown) => {
        failure = err;
      });
    }
    await this.fh.close().catch((err: unknown) => {
      failure ??= fromSystemError(err, this.device, 'cannot close watchdog');
    });
    this.release();
    if (failure !== undefined) throw failure;
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.tail.then(op);
    this.tail = run.catch(() => {});
    return run;
  }

  private async write(bytes: Buffer, action: string): Promise<void> {
    try {
      await this.fh.write(bytes);
    } catch (err) {
      throw fromSystemError(err, this.device, action);
    }
  }
}
