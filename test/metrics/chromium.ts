/**
 * Headless Chromium for the status page: the rendered DOM after the page's script ran, or a screenshot.
 * Each run gets its own profile directory and its own process group, killed by id when it overruns.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ChromiumRun {
  url: string;
  /** `width,height` in CSS pixels. */
  windowSize?: string;
  /** Virtual milliseconds the page may run its timers before the DOM or the picture is taken. */
  budgetMs?: number;
  /** Write a PNG here instead of dumping the DOM. */
  screenshot?: string;
  timeoutMs?: number;
}

export function chromium(run: ChromiumRun): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'tnd-chromium-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--no-first-run',
    '--hide-scrollbars',
    `--user-data-dir=${profile}`,
    `--window-size=${run.windowSize ?? '1280,900'}`,
    `--virtual-time-budget=${run.budgetMs ?? 2500}`,
    run.screenshot === undefined ? '--dump-dom' : `--screenshot=${run.screenshot}`,
    run.url,
  ];
  const child = spawn('chromium', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, run.timeoutMs ?? 30_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      if (code === 0) resolve(out);
      else reject(new Error(`chromium exited ${code ?? signal}: ${err.slice(-2000)}`));
    });
  });
}
