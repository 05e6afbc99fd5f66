/**
 * The console service: opens the board's console port and serves login sessions on it until closed.
 * The port, the clock and the backend are handed in (the entry point or the supervisor builds them).
 */
import type { Clock } from '../../hal/clock/types.ts';
import type { SerialDriver, SerialPort } from '../../hal/serial/types.ts';
import type { ScryptParams } from '../config/password.ts';
import type { UserConfig } from '../config/schema.ts';
import type { ConsoleBackend } from './backend.ts';
import { LineEditor } from './editor.ts';
import { ConsoleError } from './errors.ts';
import { DEFAULT_LOGIN_POLICY, type LoginPolicy } from './login.ts';
import { type ConsoleLog, Shell } from './shell.ts';
import { Terminal } from './terminal.ts';

export interface ConsoleOptions {
  serial: SerialDriver;
  /** The board's console port (board.serial.console). */
  path: string;
  baudRate: number;
  backend: ConsoleBackend;
  clock: Clock;
  policy?: Partial<LoginPolicy>;
  /** Who may log in while the running configuration has no users (from provisioning). */
  fallbackUsers?: readonly UserConfig[];
  /** scrypt cost for new passwords (tests lower it). */
  hashParams?: ScryptParams;
  maxLineLength?: number;
  columns?: number;
  log?: ConsoleLog;
  signal?: AbortSignal;
}

export interface ConsoleHandle {
  readonly port: SerialPort;
  /** Settles when the console stops: resolves after close(), rejects when the port failed. */
  readonly done: Promise<void>;
  /** Ends the session, stops reading and closes the port. Calling it again returns the same promise. */
  close(): Promise<void>;
}

function checkPolicy(policy: LoginPolicy): void {
  for (const [key, value] of Object.entries(policy)) {
    const min = key === 'maxFailures' ? 1 : 0;
    if (!Number.isSafeInteger(value) || value < min) {
      throw new ConsoleError(
        'CONSOLE_INVALID_ARGUMENT',
        `policy.${key} should be a whole number >= ${min}, got ${value}`,
      );
    }
  }
}

export async function startConsole(options: ConsoleOptions): Promise<ConsoleHandle> {
  if (options.signal?.aborted) throw new ConsoleError('CONSOLE_CLOSED', 'aborted before it started');
  const policy: LoginPolicy = { ...DEFAULT_LOGIN_POLICY, ...options.policy };
  checkPolicy(policy);
  const maxLength = options.maxLineLength ?? 1024;
  if (!Number.isSafeInteger(maxLength) || maxLength < 16 || maxLength > 65536) {
    throw new ConsoleError('CONSOLE_INVALID_ARGUMENT', `maxLineLength should be 16..65536, got ${maxLength}`);
  }
  const log: ConsoleLog = options.log ?? ((level, message) => console.error(`console ${level}: ${message}`));
  const port = await options.serial.open(options.path, { baudRate: options.baudRate });
  const stop = new AbortController();
  let shell: Shell | undefined;
  const editor = new LineEditor({
    maxLength,
    ...(options.columns === undefined ? {} : { columns: options.columns }),
    assist: {
      complete: (before) => shell?.assist.complete(before) ?? { from: 0, candidates: [] },
      help: (before) => shell?.assist.help(before) ?? [],
    },
  });
  const term = new Terminal(port, editor);
  shell = new Shell(
    term,
    {
      backend: options.backend,
      clock: options.clock,
      policy,
      fallbackUsers: options.fallbackUsers ?? [],
      hashParams: options.hashParams,
      log,
    },
    stop.signal,
  );
  const pumping = term.pump(stop.signal);
  // A shell that ends for any reason stops the reader too, so `done` always settles.
  const serving = shell.run().finally(() => stop.abort());
  const done = Promise.all([pumping, serving]).then(() => undefined);
  done.catch((err: unknown) =>
    log('error', `console port ${options.path} failed: ${(err as Error).message}`),
  );

  let closing: Promise<void> | undefined;
  const onAbort = (): void => {
    void handle.close();
  };
  const handle: ConsoleHandle = {
    port,
    done,
    close: () => {
      closing ??= (async () => {
        options.signal?.removeEventListener('abort', onAbort);
        stop.abort();
        await done.catch(() => undefined);
        await term.flush().catch(() => undefined);
        await port.close();
      })();
      return closing;
    },
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  return handle;
}
