import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Moves the contents of the node's state directory aside into `<dir>/factory-reset-<iso time>/` (nothing
 * is deleted: an operator can still recover a journal). `keep` names entries that stay (the supervisor's
 * own socket); earlier factory-reset folders stay too. Returns the folder.
 */
export function moveStateAside(dir: string, wallTimeMs: number, keep: readonly string[] = []): string {
  const stamp = new Date(wallTimeMs).toISOString().replace(/[:.]/g, '-');
  const target = join(dir, `factory-reset-${stamp}`);
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('factory-reset-') || keep.includes(entry)) continue;
    renameSync(join(dir, entry), join(target, entry));
  }
  return target;
}
