/** Helpers shared by the check kinds' parsers: zod issues → ConfigFieldError, equality, templates. */
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { ConfigFieldError } from '../errors.ts';
import type { CheckTarget } from './types.ts';

/** `a.b[0].c` from a zod issue path. */
export function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** Parses `input` with `schema`; the first problem becomes a ConfigFieldError naming the field and value. */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new ConfigFieldError('', 'is not valid', input);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '?';
    const where = pathText([...issue.path, key]);
    const value = lookup(input, [...issue.path, key]);
    throw new ConfigFieldError(where, 'is not a known field here', value);
  }
  const value = 'input' in issue ? issue.input : lookup(input, issue.path);
  // A bad record key: zod nests the key's own problem.
  const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
  throw new ConfigFieldError(pathText(issue.path), message, value);
}

function lookup(input: unknown, path: readonly PropertyKey[]): unknown {
  let at: unknown = input;
  for (const part of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<PropertyKey, unknown>)[part];
  }
  return at;
}

/** Structural equality of parsed specs (plain data, RegExps by source and flags). */
export function sameSpec(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}

/** Replaces `{service}`, `{server}`, `{address}` and `{port}` in `text` with the target's values. */
export function fillTemplate(text: string, target: CheckTarget): string {
  return text.replace(/\{(service|server|address|port)\}/g, (_, name: keyof CheckTarget) =>
    String(target[name]),
  );
}

/** The message of an unknown thrown value. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = 'code' in err && typeof err.code === 'string' ? `${err.code}: ` : '';
    return err.message.startsWith(code) ? err.message : `${code}${err.message}`;
  }
  return String(err);
}
