/**
 * Runs `nft -j -f <file>` (inside `ip netns exec <ns>` when a namespace is given) on a JSON document in a
 * private temporary file: nft opens its input by path, and /dev/stdin cannot be opened when stdin is the
 * socket Node gives a child, while a command-line argument is capped at 128 KiB. Every child is owned: an
 * abort, the timeout or close() kills it by PID.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { abortError } from '../errors.ts';
import { runTool, type ToolRun } from '../owned-process.ts';

export type NftResult = ToolRun;

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
    return runTool({
      argv: ['nft', '-j', '-f', path],
      netns: this.netns,
      timeoutMs: this.timeoutMs,
      signal,
      device: this.where,
      running: this.running,
    });
  }

  /** Kills every nft still running; their calls reject with the error `reason` builds. */
  killAll(reason: () => Error): void {
    for (const stop of [...this.running]) stop(reason());
  }
}
