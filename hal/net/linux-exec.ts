/**
 * Runs iproute2 and arping for the Linux net driver, in the host's namespace or in a named one, and turns
 * their failures into HalErrors. The tools' message texts are the only signal they give, so this is the
 * one place that reads them.
 */
import { CommandError, type ExecResult, run } from '../../board/sim/testbed/exec.ts';
import { abortError, HalError, type HalErrorCode } from '../errors.ts';

const RULES: readonly [RegExp, HalErrorCode][] = [
  [/Cannot open network namespace|Cannot find device|does not exist|No such device/i, 'HAL_NOT_FOUND'],
  [/Operation not permitted|Permission denied|must be root/i, 'HAL_PERMISSION'],
  [/not up|Network is down|is down/i, 'HAL_IO'],
  [/not ARPable/i, 'HAL_UNSUPPORTED'],
  [
    /Invalid argument|invalid gateway|Invalid prefix|valid prefix|is wrong|Cannot assign requested|unreachable|No route to host/i,
    'HAL_INVALID_ARGUMENT',
  ],
];

export interface ToolRun {
  /** What is being done, for the message: 'add address 10.0.0.5/24 to'. */
  action: string;
  /** The link, address or namespace the error is about. */
  device: string;
  /** stderr that means the goal already holds (an idempotent change): resolves instead of failing. */
  tolerate?: RegExp;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export class LinuxTools {
  constructor(private readonly netns: string | undefined) {}

  /** `ip [-n ns] ...args`. */
  ip(args: readonly string[], how: ToolRun): Promise<ExecResult> {
    return this.exec(['ip', ...(this.netns === undefined ? [] : ['-n', this.netns]), ...args], how);
  }

  /** Another tool, inside the namespace (`ip netns exec` execs it, so the PID run() holds is the tool's). */
  tool(argv: readonly string[], how: ToolRun): Promise<ExecResult> {
    return this.exec(this.netns === undefined ? argv : ['ip', 'netns', 'exec', this.netns, ...argv], how);
  }

  /** The argv that starts `ip [-n ns] ...args` as a long-running child. */
  ipArgv(args: readonly string[]): string[] {
    return ['ip', ...(this.netns === undefined ? [] : ['-n', this.netns]), ...args];
  }

  private async exec(argv: readonly string[], how: ToolRun): Promise<ExecResult> {
    if (how.signal?.aborted) throw abortError(how.signal, how.device);
    try {
      return await run(argv, {
        ...(how.signal === undefined ? {} : { signal: how.signal }),
        timeoutMs: how.timeoutMs ?? 15_000,
      });
    } catch (err) {
      if (how.signal?.aborted) throw abortError(how.signal, how.device);
      if (err instanceof CommandError && how.tolerate?.test(err.result.stderr)) return err.result;
      throw this.toHalError(err, argv, how);
    }
  }

  toHalError(err: unknown, argv: readonly string[], how: ToolRun): HalError {
    const where = this.netns === undefined ? '' : ` (netns ${this.netns})`;
    if (err instanceof CommandError) {
      const text = (err.result.stderr.trim() || err.result.stdout.trim()).split('\n').slice(-2).join(' / ');
      if (/Cannot open network namespace/.test(text) && this.netns !== undefined) {
        return new HalError(
          'HAL_NOT_FOUND',
          `${how.action} ${how.device}: no network namespace ${this.netns}`,
          {
            device: this.netns,
            cause: err,
          },
        );
      }
      if (/exec of "[^"]+" failed: No such file/.test(text)) return missingTool(argv, how, err);
      const code = RULES.find(([re]) => re.test(text))?.[1] ?? 'HAL_IO';
      return new HalError(code, `${how.action} ${how.device}${where}: ${text}`, {
        device: how.device,
        cause: err,
      });
    }
    if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT') {
      return missingTool(argv, how, err);
    }
    const detail = err instanceof Error ? err.message : String(err);
    return new HalError('HAL_IO', `${how.action} ${how.device}${where}: ${detail}`, {
      device: how.device,
      cause: err,
    });
  }
}

function missingTool(argv: readonly string[], how: ToolRun, cause: unknown): HalError {
  const tool = argv[0] === 'ip' && argv[1] === 'netns' ? argv[4] : argv[0];
  return new HalError('HAL_UNSUPPORTED', `${how.action} ${how.device}: the tool ${tool} is not installed`, {
    device: how.device,
    cause,
  });
}
