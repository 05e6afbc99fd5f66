import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fromSystemError } from '../errors.ts';

/** The temp file beside `path` that a write goes through. A leftover one is an interrupted write. */
export const tempPathFor = (path: string): string => `${path}.tnd-new`;

/**
 * Replaces `path` with `data` so that a crash or power cut at any point leaves the old file or the new one:
 * the data goes to a temp file in the same directory, is fsynced, renamed over `path` (atomic within a
 * filesystem), and the directory is fsynced so the rename itself survives. A temp file left by an
 * interrupted write is simply overwritten. Errors are HalErrors naming `path`; the old file is then intact.
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const temp = tempPathFor(path);
  try {
    const fh = await open(temp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => {});
    throw fromSystemError(err, path, 'cannot write');
  }
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (err) {
    throw fromSystemError(err, path, 'cannot make the rename durable for');
  }
}
