/**
 * One run of a tool by a HAL driver: owned (killed by PID on abort, timeout or the driver's close),
 * bounded in time, optionally inside a network namespace (`ip netns exec`). Resolves with the exit
 * status and output whatever the status; rejects only when the run was stopped (abort → HAL_CANCELED,
 * timeout → HAL_TIMEOUT, the owner's stop → its error) or the tool could not start (HAL_UNSUPPORTED when
 * it is missing).
 */
import { spawn } from 'node:child_process';
import { abortError, HalError } from './errors.ts';

export interface ToolRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ToolRunOptions {
  argv: readonly string[];
  netns?: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Names the device in errors. */
  device: string;
  /** The owner's running set: each run adds its stop function while it lives (for close()). */
  running: Set<(err: Error) => void>;
}

export function runTool(o: ToolRunOptions): Promise<ToolRun> {
  if (o.signal?.aborted) return Promise.reject(abortError(o.signal, o.device));
  const full = o.netns === undefined ? o.argv : ['ip', 'netns', 'exec', o.netns, ...o.argv];
  const [file, ...args] = full as [string, ...string[]];
  const tool = o.argv[0] ?? file;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let failure: Error | undefined;
    const stop = (err: Error): void => {
      failure ??= err;
      if (child.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    o.running.add(stop);
    const onAbort = (): void => stop(abortError(o.signal as AbortSignal, o.device));
    const timer = setTimeout(
      () =>
        stop(
          new HalError('HAL_TIMEOUT', `${tool} did not finish within ${o.timeoutMs} ms`, {
            device: o.device,
          }),
        ),
      o.timeoutMs,
    );
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (): void => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      o.running.delete(stop);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      finish();
      const code = err.code === 'ENOENT' ? 'HAL_UNSUPPORTED' : 'HAL_IO';
      reject(new HalError(code, `cannot run ${file}: ${err.message}`, { device: o.device, cause: err }));
    });
    child.on('close', (code, sig) => {
      finish();
      if (failure !== undefined) reject(failure);
      else resolve({ code: code ?? (sig ? 128 : 1), stdout, stderr });
    });
  });
}
