import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDirFor, type Topology } from './topology.ts';

/**
 * The testbed's only footprint in the host namespace: `/run/tandem-sim/<prefix>/`, holding the pty links,
 * PID files, real-server logs and `testbed.json` (the options `up` was given, so later commands agree).
 */
export interface SavedOptions {
  readonly realServers: number;
}

const FILE = 'testbed.json';

export function readSavedOptions(prefix: string): SavedOptions | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(stateDirFor(prefix), FILE), 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'realServers' in parsed) {
      const n = parsed.realServers;
      if (typeof n === 'number' && Number.isInteger(n) && n > 0) return { realServers: n };
    }
  } catch {
    // missing or unreadable: the caller falls back to what exists, then to the default
  }
  return undefined;
}

export function saveOptions(topology: Topology): void {
  mkdirSync(topology.stateDir, { recursive: true });
  const path = join(topology.stateDir, FILE);
  const saved: SavedOptions = { realServers: topology.realServers.length };
  writeFileSync(`${path}.tmp`, `${JSON.stringify(saved)}\n`);
  renameSync(`${path}.tmp`, path);
}
