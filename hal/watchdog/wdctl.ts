import { spawn } from 'node:child_process';
import { abortError, HalError, type HalErrorCode } from '../errors.ts';

/**
 * util-linux `wdctl`: the only way to reach the watchdog ioctls (WDIOC_SETTIMEOUT, WDIOC_GETTIMEOUT) from
 * Node. Each run opens the device, writes the magic 'V' and closes it again, so it disarms a running
 * watchdog (unless the driver was loaded with nowayout) and fails with "already in use" while anyone holds
 * the device: it must run before the driver opens the device, never while it is open. It blocks every
 * signal while it holds the device, so only SIGKILL stops it (a FIFO with no reader makes it hang).
 */
export interface WdctlOptions {
  /** The program to run; default 'wdctl'. */
  tool: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

interface Outcome {
  stdout: string;
  stderr: string;
  code: number | null;
  /** The program could not be started. */
  error: (Error & { code?: unknown }) | null;
  /** It was killed for taking too long or for an abort. */
  killed: boolean;
}

/**
 * Programs `setS` (when given) and returns the timeout in force as `wdctl --oneline` reports it, or
 * undefined when the device does not report one.
 */
export async function wdctlTimeout(
  device: string,
  setS: number | undefined,
  options: WdctlOptions,
): Promise<number | undefined> {
  const args = [
    ...(setS === undefined ? [] : ['--settimeout', String(setS)]),
    '--oneline',
    '--noflags',
    '--noident',
    device,
  ];
  const out = await runTool(options, args);
  if (out.error !== null || out.code !== 0) throw wdctlError(device, setS, options, out);
  const m = /(?:^|\s)TIMEOUT="(\d+)"/m.exec(out.stdout);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function runTool(options: WdctlOptions, args: string[]): Promise<Outcome> {
  const { signal } = options;
  return new Promise((resolve) => {
    // Not Node's `signal`/`timeout` options: an abort through them left a wdctl blocked in open() running
    // (it blocks the signal they send), so both the time limit and an abort SIGKILL it here.
    const child = spawn(options.tool, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // wdctl's messages are translated; C keeps them matchable.
      env: { ...process.env, LC_ALL: 'C' },
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const kill = (): void => {
      killed = true;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(kill, options.timeoutMs);
    signal?.addEventListener('abort', kill, { once: true });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const finish = (code: number | null, error: Outcome['error']): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', kill);
      resolve({ stdout, stderr, code, error, killed });
    };
    child.on('error', (err) => {
      // Only a program that never started ends here without a 'close' to follow.
      if (child.pid === undefined) finish(null, err);
    });
    child.on('close', (code) => finish(code, null));
  });
}

function wdctlError(device: string, setS: number | undefined, options: WdctlOptions, out: Outcome): Error {
  if (options.signal?.aborted) return abortError(options.signal, device);
  const err = out.error;
  if (err !== null && err.code === 'ENOENT') {
    return new HalError(
      'HAL_UNSUPPORTED',
      `watchdog ${device}: ${options.tool} (util-linux) is not installed; it sets and reads the timeout`,
      { device, cause: err },
    );
  }
  if (out.killed) {
    const message = `watchdog ${device}: ${options.tool} did not finish in ${options.timeoutMs} ms`;
    return new HalError('HAL_TIMEOUT', message, { device });
  }
  const text = out.stderr.trim() || out.stdout.trim() || String(err?.message);
  const code = classify(text, setS);
  const what =
    code === 'HAL_INVALID_ARGUMENT'
      ? `refuses a timeout of ${setS} s`
      : code === 'HAL_UNSUPPORTED'
        ? 'is not a watchdog device'
        : code === 'HAL_BUSY'
          ? 'is already open'
          : code === 'HAL_NOT_FOUND'
            ? 'does not exist'
            : `could not be queried with ${options.tool}`;
  return new HalError(code, `watchdog ${device} ${what}: ${text}`, { device });
}

/** wdctl reports failures only as text (strerror after the action), so the text is all there is to map. */
function classify(text: string, setS: number | undefined): HalErrorCode {
  if (/already in use|Device or resource busy/.test(text)) return 'HAL_BUSY';
  if (/No such file or directory|No such device/.test(text)) return 'HAL_NOT_FOUND';
  if (/Permission denied|Operation not permitted/.test(text)) return 'HAL_PERMISSION';
  if (setS !== undefined && /cannot set timeout.*Invalid argument/.test(text)) return 'HAL_INVALID_ARGUMENT';
  if (/Inappropriate ioctl|Operation not supported/.test(text)) return 'HAL_UNSUPPORTED';
  return 'HAL_IO';
}
