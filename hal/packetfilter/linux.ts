import { abortError, HalError } from '../errors.ts';
import { countersOf } from './counters.ts';
import { type NftResult, NftRunner } from './nft-run.ts';
import { NftSession } from './nft-session.ts';
import type { Batch, ListedObject, Listing, PacketFilter, TableCounters, TableRef } from './types.ts';
import { checkTableRef, isObject, soleKey, validateBatch } from './validate.ts';

export interface NftPacketFilterOptions {
  /** Run nft inside this network namespace (`ip netns exec <netns> nft ...`). */
  netns?: string;
  /** How long one nft run may take (default 30 s); then it is killed and the call rejects HAL_TIMEOUT. */
  timeoutMs?: number;
  /**
   * How batches reach the kernel: 'session' (default) through one long-lived libnftables context
   * (nft-session.ts; falls back to 'spawn' when python3 or libnftables is missing), 'spawn' through one
   * `nft -j -f` process per batch. Listing always spawns nft.
   */
  transport?: 'session' | 'spawn';
}

const LISTED_KINDS = new Set(['table', 'chain', 'rule', 'set', 'map', 'counter']);

/**
 * nftables through its JSON input: each batch is one JSON document run by libnftables (a long-lived
 * session, or one `nft -j -f` process), so a batch is one kernel transaction. Listing uses JSON `list`
 * commands too, so table names never meet nft's CLI parser.
 */
export class NftPacketFilter implements PacketFilter {
  private readonly runner: NftRunner;
  private session: NftSession | undefined;
  private readonly calls = new Set<Promise<unknown>>();
  private closed = false;

  constructor(options: NftPacketFilterOptions = {}) {
    if (options.netns !== undefined && (options.netns === '' || options.netns.includes('/'))) {
      throw new HalError(
        'HAL_INVALID_ARGUMENT',
        `netns must be a namespace name, got ${JSON.stringify(options.netns)}`,
        {
          device: 'nftables',
        },
      );
    }
    this.runner = new NftRunner(options.netns, options.timeoutMs ?? 30_000);
    if (options.transport !== 'spawn') {
      this.session = new NftSession(options.netns, options.timeoutMs ?? 30_000, this.runner.where);
    }
  }

  /** Runs a batch document through the session, or a spawned nft when there is no session. */
  private async batch(input: string, signal: AbortSignal | undefined): Promise<NftResult> {
    const session = this.session;
    if (session === undefined) return this.runner.run(input, signal);
    try {
      return await session.run(input, signal);
    } catch (err) {
      if (!HalError.is(err, 'HAL_UNSUPPORTED') || this.session !== session) throw err;
      // No python3 or no libnftables here: one nft process per batch from now on.
      this.session = undefined;
      return this.runner.run(input, signal);
    }
  }

  apply(batch: Batch, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.track('apply', options.signal, async () => {
      const checked = validateBatch(batch);
      const result = await this.batch(JSON.stringify(checked), options.signal);
      if (result.code !== 0) throw this.failure(result, 'HAL_INVALID_ARGUMENT', 'nft rejected the batch');
    });
  }

  list(table: TableRef, options: { signal?: AbortSignal } = {}): Promise<Listing> {
    return this.track('list', options.signal, async () => {
      checkTableRef('table', table);
      const ref = { family: table.family, name: table.name };
      const result = await this.runner.run(
        JSON.stringify({ nftables: [{ list: { table: ref } }] }),
        options.signal,
      );
      if (result.code !== 0) {
        const missing = /No such file or directory/.test(result.stderr);
        throw this.failure(
          result,
          missing ? 'HAL_NOT_FOUND' : 'HAL_IO',
          `cannot list table ${table.family} ${table.name}`,
        );
      }
      return this.parse(result.stdout);
    });
  }

  async counters(table: TableRef, options: { signal?: AbortSignal } = {}): Promise<TableCounters> {
    return countersOf(await this.list(table, options));
  }

  deleteTable(table: TableRef, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.track('deleteTable', options.signal, async () => {
      checkTableRef('table', table);
      const ref = { family: table.family, name: table.name };
      // Adding first makes the delete succeed whether or not the table existed, in one transaction.
      const batch = { nftables: [{ add: { table: ref } }, { delete: { table: ref } }] };
      const result = await this.batch(JSON.stringify(batch), options.signal);
      if (result.code !== 0)
        throw this.failure(result, 'HAL_IO', `cannot delete table ${table.family} ${table.name}`);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const reason = () =>
      new HalError('HAL_CANCELED', 'nft was stopped: the packet filter was closed', {
        device: this.runner.where,
      });
    this.session?.stop(reason());
    this.runner.killAll(reason);
    await Promise.allSettled([...this.calls]);
  }

  private track<T>(what: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    if (this.closed) {
      return Promise.reject(
        new HalError('HAL_CLOSED', `cannot ${what}: the packet filter is closed`, {
          device: this.runner.where,
        }),
      );
    }
    if (signal?.aborted) return Promise.reject(abortError(signal, this.runner.where));
    const call = work();
    this.calls.add(call);
    const forget = (): void => {
      this.calls.delete(call);
    };
    call.then(forget, forget);
    return call;
  }

  /** Maps a failed nft run to a HalError carrying nft's own message. */
  private failure(result: NftResult, code: HalError['code'], what: string): HalError {
    const message = result.stderr
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .join('; ');
    if (/^Cannot open network namespace/m.test(result.stderr)) {
      return new HalError('HAL_NOT_FOUND', `${what}: ${message}`, { device: this.runner.where });
    }
    if (/^exec of "nft" failed/m.test(result.stderr)) {
      return new HalError('HAL_UNSUPPORTED', `${what}: nft is not installed: ${message}`, {
        device: this.runner.where,
      });
    }
    if (/Operation not permitted/.test(result.stderr)) {
      return new HalError('HAL_PERMISSION', `${what}: ${message}`, { device: this.runner.where });
    }
    return new HalError(code, `${what}: ${message || `nft exited ${result.code}`}`, {
      device: this.runner.where,
    });
  }

  private parse(stdout: string): Listing {
    let parsed: unknown;
    try {
      parsed = JSON.parse(stdout);
    } catch (err) {
      throw new HalError('HAL_IO', `nft printed something that is not JSON: ${stdout.slice(0, 200)}`, {
        device: this.runner.where,
        cause: err,
      });
    }
    const items = isObject(parsed) && Array.isArray(parsed.nftables) ? parsed.nftables : [];
    return {
      nftables: items.filter((item): item is ListedObject => LISTED_KINDS.has(soleKey(item) ?? '')),
    };
  }
}
