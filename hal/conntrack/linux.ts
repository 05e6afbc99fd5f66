/**
 * Connection tracking through the conntrack tool (conntrack-tools): `conntrack -L`, inside
 * `ip netns exec <netns>` when given one. Every child is owned: an abort, the timeout or close() kills
 * it by PID.
 */
import { abortError, HalError } from '../errors.ts';
import { runTool } from '../owned-process.ts';
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

  private async run(argv: string[], signal: AbortSignal | undefined): Promise<string> {
    const { netns, timeoutMs = 10_000 } = this.options;
    const r = await runTool({ argv, netns, timeoutMs, signal, device: this.device, running: this.running });
    if (r.code === 0) return r.stdout;
    const full = netns === undefined ? argv : ['ip', 'netns', 'exec', netns, ...argv];
    const message = `${full.join(' ')} exited ${r.code}: ${r.stderr.trim().split('\n').join('; ')}`;
    const kind = /Cannot open network namespace/.test(r.stderr)
      ? 'HAL_NOT_FOUND'
      : /exec of "conntrack" failed/.test(r.stderr)
        ? 'HAL_UNSUPPORTED'
        : /Operation not permitted/.test(r.stderr)
          ? 'HAL_PERMISSION'
          : 'HAL_IO';
    throw new HalError(kind, message, { device: this.device });
  }
}
