/**
 * Connection tracking through the conntrack tool (conntrack-tools): `conntrack -L`, inside
 * `ip netns exec <netns>` when given one. Every child is owned: an abort, the timeout or close() kills
 * it by PID.
 */
import { spawn } from 'node:child_process';
import { abortError, HalError } from '../errors.ts';
import { checkListOptions, matches, parseConntrackLine } from './parse.ts';
import type { ConnectionTracker, ListOptions, TrackedFlow } from './types.ts';

export interface LinuxConntrackOptions {
  netns?: string;
  /** How long one listing may take (default 10 s). */
  timeoutMs?: number;
}

export class LinuxConntrack implements ConnectionTracker {
  private readonly running = new Set<(err: Error) => void>();
  private readonly device: string;
  private closed = false;

  constructor(private readonly options: LinuxConntrackOptions = {}) {
    const { netns } = options;
    if (netns !== undefined && (netns === '' || netns.includes('/'))) {
      throw new HalError(
        'HAL_INVALID_ARGUMENT',
        `netns must be a namespace name, got ${JSON.stringify(netns)}`,
        {
          device: 'conntrack',
        },
      );
    }
    this.device = netns === undefined ? 'conntrack' : `conntrack in netns ${netns}`;
  }

  async list(options: ListOptions = {}): Promise<TrackedFlow[]> {
    if (this.closed)
      throw new HalError('HAL_CLOSED', 'cannot list: conntrack is closed', { device: this.device });
    if (options.signal?.aborted) throw abortError(options.signal, this.device);
    const filter = checkListOptions(options, this.device);
    const argv = ['conntrack', '-L'];
    if (filter.protocol !== undefined) argv.push('-p', filter.protocol);
    if (filter.state !== undefined) argv.push('--state', filter.state);
    const text = await this.run(argv, options.signal);
    const flows: TrackedFlow[] = [];
    for (const line of text.split('\n')) {
      const flow = parseConntrackLine(line);
      if (flow !== undefined && matches(flow, filter)) flows.push(flow);
    }
    return flows;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stop of [...this.running]) {
      stop(new HalError('HAL_CANCELED', 'conntrack was stopped: closed', { device: this.device }));
    }
  }

  private run(argv: string[], signal: AbortSignal | undefined): Promise<string> {
    const { netns, timeoutMs = 10_000 } = this.options;
    const full = netns === undefined ? argv : ['ip', 'netns', 'exec', netns, ...argv];
    const [file, ...args] = full as [string, ...string[]];
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
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
      const onAbort = (): void => stop(abortError(signal as AbortSignal, this.device));
      const timer = setTimeout(
        () =>
          stop(
            new HalError('HAL_TIMEOUT', `conntrack did not finish within ${timeoutMs} ms`, {
              device: this.device,
            }),
          ),
        timeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.running.delete(stop);
      };
      child.stdout.on('data', (d: Buffer) => chunks.push(d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        finish();
        const code = err.code === 'ENOENT' ? 'HAL_UNSUPPORTED' : 'HAL_IO';
        reject(new HalError(code, `cannot run ${file}: ${err.message}`, { device: this.device, cause: err }));
      });
      child.on('close', (code) => {
        finish();
        if (failure !== undefined) return reject(failure);
        if (code === 0) return resolve(Buffer.concat(chunks).toString('utf8'));
        const message = `${full.join(' ')} exited ${code}: ${stderr.trim().split('\n').join('; ')}`;
        const kind = /Cannot open network namespace/.test(stderr)
          ? 'HAL_NOT_FOUND'
          : /exec of "conntrack" failed/.test(stderr)
            ? 'HAL_UNSUPPORTED'
            : /Operation not permitted/.test(stderr)
              ? 'HAL_PERMISSION'
              : 'HAL_IO';
        reject(new HalError(kind, message, { device: this.device }));
      });
    });
  }
}
