import { spawn } from 'node:child_process';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
  /** The signal that ended the program (SIGTERM when `timeoutMs` ran out). */
  signal?: NodeJS.Signals;
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly code = 'TESTBED_COMMAND_FAILED' as const;
  constructor(
    readonly argv: readonly string[],
    readonly result: ExecResult,
  ) {
    super(`${argv.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

/** Runs a program (no shell), collecting its output; rejects with CommandError on a non-zero exit. */
export function run(
  argv: readonly string[],
  options: { input?: string; allowFail?: boolean; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new TypeError('run() needs a program'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(options.signal ? { signal: options.signal } : {}),
      timeout: options.timeoutMs ?? 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, sig) => {
      const result: ExecResult = {
        stdout,
        stderr,
        code: code ?? (sig ? 128 : 1),
        ...(sig ? { signal: sig } : {}),
      };
      if (result.code !== 0 && !options.allowFail) reject(new CommandError(argv, result));
      else resolve(result);
    });
    if (child.stdin) {
      // A program that exits without reading its input must not crash us with EPIPE.
      child.stdin.on('error', () => {});
      child.stdin.end(options.input);
    }
  });
}
