/**
 * Runs `nft -j -f <file>` (inside `ip netns exec <ns>` when a namespace is given) on a JSON document in a
 * private temporary file: nft opens its input by path, and /dev/stdin cannot be opened when stdin is the
 * socket Node gives a child, while a command-line argument is capped at 128 KiB. Every child is owned: an
 * abort, the timeout or close() kills it by PID.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { abortError, HalError } from '../errors.ts';

export interface NftResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class NftRunner {
  /** One stop function per nft still running. */
  private readonly running = new Set<(err: Error) => void>();

  constructor(
    private readonly netns: string | undefined,
    private readonly timeoutMs: number,
  ) {}

  /** Where the commands run, for error messages. */
  get where(): string {
    return this.netns === undefined ? 'nftables' : `nftables in netns ${this.netns}`;
  }

  async run(input: string, signal: AbortSignal | undefined): Promise<NftResult> {
    if (signal?.aborted) throw abortError(signal, this.where);
    const dir = await mkdtemp(join(tmpdir(), 'tnd-nft-'));
    try {
      const file = join(dir, 'batch.json');
      await writeFile(file, input, { mode: 0o600 });
      return await this.spawn(file, signal);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private spawn(path: string, signal: AbortSignal | undefined): Promise<NftResult> {
    if (signal?.aborted) return Promise.reject(abortError(signal, this.where));
    const argv = ['nft', '-j', '-f', path];
    const [file, ...args] = this.netns === undefined ? argv : ['ip', 'netns', 'exec', this.netns, ...argv];
    return new Promise((resolve, reject) => {
      const child = spawn(file as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
      this.running.add(stop);
      const onAbort = (): void => stop(abortError(signal as AbortSignal, this.where));
      const timer = setTimeout(
        () =>
          stop(
            new HalError('HAL_TIMEOUT', `nft did not finish within ${this.timeoutMs} ms`, {
              device: this.where,
            }),
          ),
        this.timeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.running.delete(stop);
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
        reject(new HalError(code, `cannot run ${file}: ${err.message}`, { device: this.where, cause: err }));
      });
      child.on('close', (code, sig) => {
        finish();
        if (failure !== undefined) reject(failure);
        else resolve({ code: code ?? (sig ? 128 : 1), stdout, stderr });
      });
    });
  }

  /** Kills every nft still running; their calls reject with the error `reason` builds. */
  killAll(reason: () => Error): void {
    for (const stop of [...this.running]) stop(reason());
  }
}
