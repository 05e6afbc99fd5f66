import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Scratch directories for one test file, all removed by `cleanup()`. */
export class TmpDirs {
  private readonly made: string[] = [];

  make(tag = 'journal'): string {
    const dir = mkdtempSync(join(tmpdir(), `tnd-${tag}-`));
    this.made.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.made.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** A cluster key for tests (not secret: tests only). */
export const TEST_KEY = Buffer.from('tandem-test-cluster-key-0123456789', 'utf8');
