import { SerialPort } from 'serialport';
import { TestbedError } from './errors.ts';

/**
 * Proves the serial cable end to end: opens both pty ends with serialport, sends one line each way and
 * returns what arrived. Until hal/serial exists this is the one place the testbed opens the ptys.
 */
export interface SerialExchange {
  /** What B read after A wrote `lineA`. */
  readonly atB: string;
  /** What A read after B wrote `lineB`. */
  readonly atA: string;
}

function open(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    port.open((err) =>
      err
        ? reject(new TestbedError('TESTBED_UNREACHABLE', `cannot open ${path}: ${err.message}`))
        : resolve(port),
    );
  });
}

function close(port: SerialPort): Promise<void> {
  return new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
}

function readLine(port: SerialPort, timeoutMs: number, signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (err: Error | undefined, line?: string): void => {
      clearTimeout(timer);
      port.off('data', onData);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(line ?? '');
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\n');
      if (end >= 0) finish(undefined, text.slice(0, end));
    };
    const onAbort = (): void =>
      finish(new TestbedError('TESTBED_UNREACHABLE', `reading ${port.path} was aborted`));
    const timer = setTimeout(
      () =>
        finish(
          new TestbedError(
            'TESTBED_UNREACHABLE',
            `no line on ${port.path} within ${timeoutMs} ms (got ${JSON.stringify(text)})`,
          ),
        ),
      timeoutMs,
    );
    port.on('data', onData);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function send(from: SerialPort, to: SerialPort, line: string, timeoutMs: number, signal?: AbortSignal) {
  const arrived = readLine(to, timeoutMs, signal);
  from.write(`${line}\n`);
  return arrived;
}

export async function exchangeLines(
  paths: { a: string; b: string },
  lines: { a: string; b: string },
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<SerialExchange> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const a = await open(paths.a);
  try {
    const b = await open(paths.b);
    try {
      const atB = await send(a, b, lines.a, timeoutMs, options.signal);
      const atA = await send(b, a, lines.b, timeoutMs, options.signal);
      return { atB, atA };
    } finally {
      await close(b);
    }
  } finally {
    await close(a);
  }
}
