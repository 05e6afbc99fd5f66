/**
 * HealthSink implementations that need no journal: an in-memory one (tests, and the current state for a
 * status command) and a JSON-lines writer (the process entry, until the journal implements the sink).
 */
import type { Writable } from 'node:stream';
import type {
  ApplianceHealthRecord,
  HealthSink,
  QuorumRecord,
  ServerHealthRecord,
  SorryRecord,
} from './types.ts';

export type SinkEntry =
  | { readonly type: 'server'; readonly record: ServerHealthRecord }
  | {
      readonly type: 'server-removed';
      readonly record: { readonly service: string; readonly server: string };
    }
  | { readonly type: 'quorum'; readonly record: QuorumRecord }
  | { readonly type: 'sorry'; readonly record: SorryRecord }
  | { readonly type: 'health'; readonly record: ApplianceHealthRecord };

/** Keeps the latest state of everything, and every call in order (`log`); `onEntry` listeners see each. */
export class MemoryHealthSink implements HealthSink {
  readonly servers = new Map<string, ServerHealthRecord>();
  readonly quorums = new Map<string, QuorumRecord>();
  readonly sorries = new Map<string, SorryRecord>();
  health: ApplianceHealthRecord | undefined;
  readonly log: SinkEntry[] = [];
  private readonly listeners = new Set<(entry: SinkEntry) => void>();

  static key(service: string, server: string): string {
    return `${service}/${server}`;
  }

  /** Calls `listener` for every later entry; returns the unsubscribe function. */
  onEntry(listener: (entry: SinkEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(entry: SinkEntry): Promise<void> {
    this.log.push(entry);
    for (const l of this.listeners) l(entry);
    return Promise.resolve();
  }

  server(record: ServerHealthRecord): Promise<void> {
    this.servers.set(MemoryHealthSink.key(record.service, record.server), record);
    return this.record({ type: 'server', record });
  }

  serverRemoved(record: { service: string; server: string }): Promise<void> {
    this.servers.delete(MemoryHealthSink.key(record.service, record.server));
    return this.record({ type: 'server-removed', record });
  }

  quorum(record: QuorumRecord): Promise<void> {
    this.quorums.set(record.service, record);
    return this.record({ type: 'quorum', record });
  }

  sorry(record: SorryRecord): Promise<void> {
    this.sorries.set(record.service, record);
    return this.record({ type: 'sorry', record });
  }

  applianceHealth(record: ApplianceHealthRecord): Promise<void> {
    this.health = record;
    return this.record({ type: 'health', record });
  }
}

/** Writes each record as one JSON line `{"type":…,"record":…}` (waits for the stream when it is full). */
export class JsonLinesSink implements HealthSink {
  constructor(private readonly out: Writable) {}

  private write(entry: SinkEntry): Promise<void> {
    const ok = this.out.write(`${JSON.stringify(entry)}\n`);
    if (ok) return Promise.resolve();
    return new Promise((resolve) => this.out.once('drain', () => resolve()));
  }

  server(record: ServerHealthRecord): Promise<void> {
    return this.write({ type: 'server', record });
  }

  serverRemoved(record: { service: string; server: string }): Promise<void> {
    return this.write({ type: 'server-removed', record });
  }

  quorum(record: QuorumRecord): Promise<void> {
    return this.write({ type: 'quorum', record });
  }

  sorry(record: SorryRecord): Promise<void> {
    return this.write({ type: 'sorry', record });
  }

  applianceHealth(record: ApplianceHealthRecord): Promise<void> {
    return this.write({ type: 'health', record });
  }
}
