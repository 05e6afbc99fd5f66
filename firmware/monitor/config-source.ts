/**
 * MonitorConfigSource implementations that need no journal: a static one a test (or a caller) sets, and
 * a JSON file re-read on demand (the process entry reloads it on SIGHUP).
 */
import { readFileSync } from 'node:fs';
import type { MonitorConfigInput } from './config.ts';
import { ConfigFieldError } from './errors.ts';
import type { MonitorConfigSource } from './types.ts';

export class StaticConfigSource implements MonitorConfigSource {
  private readonly listeners = new Set<(config: MonitorConfigInput) => void>();

  constructor(private config: MonitorConfigInput) {}

  current(): MonitorConfigInput {
    return this.config;
  }

  subscribe(listener: (config: MonitorConfigInput) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Replaces the configuration and tells subscribers. */
  set(config: MonitorConfigInput): void {
    this.config = config;
    for (const l of this.listeners) l(config);
  }
}

/** Reads a JSON file; throws ConfigFieldError naming the file when it cannot be read or parsed. */
export function readConfigFile(path: string): MonitorConfigInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigFieldError(
      '(file)',
      `cannot read the configuration file: ${(err as Error).message}`,
      path,
    );
  }
  try {
    return JSON.parse(text) as MonitorConfigInput;
  } catch (err) {
    throw new ConfigFieldError(
      '(file)',
      `the configuration file is not JSON: ${(err as Error).message}`,
      path,
    );
  }
}

export class FileConfigSource implements MonitorConfigSource {
  private readonly inner: StaticConfigSource;

  constructor(private readonly path: string) {
    this.inner = new StaticConfigSource(readConfigFile(path));
  }

  current(): MonitorConfigInput {
    return this.inner.current();
  }

  subscribe(listener: (config: MonitorConfigInput) => void): () => void {
    return this.inner.subscribe(listener);
  }

  /** Reads the file again and tells subscribers (who validate it). Throws when it cannot be read. */
  reload(): void {
    this.inner.set(readConfigFile(this.path));
  }
}
