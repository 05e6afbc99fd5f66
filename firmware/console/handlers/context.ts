/** What a command handler gets: the backend, the terminal, who is logged in, and the session's mode. */
import { createHash } from 'node:crypto';
import type { Clock } from '../../../hal/clock/types.ts';
import type { ScryptParams } from '../../config/password.ts';
import type { UserRole } from '../../config/schema.ts';
import type { ConfigDoc, JsonValue } from '../../journal/types.ts';
import type { ConsoleBackend } from '../backend.ts';
import type { Parsed } from '../grammar.ts';
import type { Terminal } from '../terminal.ts';

export type Mode = 'operational' | 'configure';

export interface ConsoleUser {
  name: string;
  role: UserRole;
}

export interface CommandContext {
  readonly backend: ConsoleBackend;
  readonly term: Terminal;
  readonly user: ConsoleUser;
  readonly clock: Clock;
  /** Aborted by ctrl-c or when the console closes. */
  readonly signal: AbortSignal;
  readonly mode: Mode;
  /** scrypt cost for new passwords (undefined: the default). */
  readonly hashParams: ScryptParams | undefined;
  setMode(mode: Mode): void;
  logout(): void;
}

export type Handler = (ctx: CommandContext, parsed: Parsed) => Promise<void>;

/** Wall-clock ms as `2026-01-01 12:00:00Z`. */
export function wallText(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/** Asks a yes/no question; only `y` or `yes` is yes. */
export async function confirm(ctx: CommandContext, question: string): Promise<boolean> {
  const answer = await ctx.term.readLine(`${question} [y/N] `, { history: false });
  return answer.type === 'line' && /^\s*y(es)?\s*$/i.test(answer.text);
}

/** The document with each user's password hash replaced by a short fingerprint of it. */
export function redact(doc: ConfigDoc): ConfigDoc {
  const users = doc.users;
  if (!Array.isArray(users)) return doc;
  return {
    ...doc,
    users: users.map((u): JsonValue => {
      if (typeof u !== 'object' || u === null || Array.isArray(u) || typeof u.hash !== 'string') return u;
      const print = createHash('sha256').update(u.hash).digest('hex').slice(0, 8);
      return { ...u, hash: `(scrypt hash ${print})` };
    }),
  };
}

/** Pretty JSON as lines. */
export function jsonLines(doc: JsonValue): string[] {
  return JSON.stringify(doc, null, 2).split('\n');
}
