/**
 * The board options every service entry point takes: `--board <tandem-1u|qemu-x86_64|sim|file.json>`
 * and, for the sim board, `--prefix <testbed prefix> --node a|b` (or TANDEM_SIM_PREFIX / TANDEM_SIM_NODE).
 */
import { BUILTIN_BOARDS, builtinBoard, loadBoardFile } from '../../board/load.ts';
import type { Board } from '../../board/types.ts';

export const BOARD_OPTIONS = {
  board: { type: 'string' },
  prefix: { type: 'string' },
  node: { type: 'string' },
} as const;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function boardFromArgs(values: { board?: string; prefix?: string; node?: string }): Board {
  const name = values.board;
  if (name === undefined) throw new UsageError('--board <tandem-1u|qemu-x86_64|sim|file.json> is required');
  if (!(BUILTIN_BOARDS as readonly string[]).includes(name)) return loadBoardFile(name);
  if (name !== 'sim') return builtinBoard(name);
  const prefix = values.prefix ?? process.env.TANDEM_SIM_PREFIX;
  const node = values.node ?? process.env.TANDEM_SIM_NODE;
  if (prefix === undefined || (node !== 'a' && node !== 'b')) {
    throw new UsageError('--board sim needs --prefix <testbed prefix> and --node a|b');
  }
  return builtinBoard(name, { prefix, node });
}
