import { readFileSync } from 'node:fs';
import { BoardError } from './errors.ts';
import { qemuX86_64 } from './qemu-x86_64.ts';
import { boardSchema } from './schema.ts';
import { type SimNode, simBoard } from './sim.ts';
import { tandem1u } from './tandem-1u.ts';
import type { Board } from './types.ts';

/**
 * Checks a board definition from any source and returns it typed. A bad field throws BoardError whose
 * `field` is its dotted path and whose message says what was expected and what arrived.
 */
export function parseBoard(value: unknown, source: string): Board {
  const result = boardSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join('.') || '(root)';
  const got = describe(pick(value, issue?.path ?? []));
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : '';
  throw new BoardError(
    'BOARD_INVALID',
    `board ${source}: field ${field} ${issue?.message ?? 'is invalid'}, got ${got}${more}`,
    {
      field,
    },
  );
}

/** Reads a board from a JSON file (an installed appliance's /etc/tandem/board.json). */
export function loadBoardFile(path: string): Board {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new BoardError('BOARD_NOT_FOUND', `board file ${path} cannot be read: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BoardError('BOARD_UNREADABLE', `board file ${path} is not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseBoard(value, path);
}

export const BUILTIN_BOARDS = ['tandem-1u', 'qemu-x86_64', 'sim'] as const;
export type BuiltinBoard = (typeof BUILTIN_BOARDS)[number];

/** A built-in board by name; `sim` needs the testbed prefix and the node. */
export function builtinBoard(name: string, sim?: { prefix: string; node: SimNode }): Board {
  switch (name) {
    case 'tandem-1u':
      return parseBoard(tandem1u, name);
    case 'qemu-x86_64':
      return parseBoard(qemuX86_64, name);
    case 'sim':
      if (!sim) throw new BoardError('BOARD_INVALID', 'board sim needs the testbed prefix and node (a or b)');
      return parseBoard(simBoard(sim), name);
    default:
      throw new BoardError(
        'BOARD_NOT_FOUND',
        `no board named ${JSON.stringify(name)}; known: ${BUILTIN_BOARDS.join(', ')}`,
      );
  }
}

function pick(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
