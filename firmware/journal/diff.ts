import type { JsonValue } from './types.ts';

/** One difference between two configuration documents, at a JSON path such as `services[2].port`. */
export type ConfigChange =
  | { op: 'add'; path: string; to: JsonValue }
  | { op: 'remove'; path: string; from: JsonValue }
  | { op: 'change'; path: string; from: JsonValue; to: JsonValue };

const isObject = (v: JsonValue): v is { [key: string]: JsonValue } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const key = (base: string, k: string): string =>
  /^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) ? (base ? `${base}.${k}` : k) : `${base}[${JSON.stringify(k)}]`;

/**
 * The changes that turn `from` into `to`, in document order (keys of `from` first, then keys only `to` has).
 * Objects are compared key by key, arrays index by index; anything else that differs is one `change`.
 * Pure and deterministic: the console shows it before a commit and the audit log records it.
 */
export function diffConfig(from: JsonValue, to: JsonValue, path = ''): ConfigChange[] {
  if (isObject(from) && isObject(to)) {
    const out: ConfigChange[] = [];
    for (const k of Object.keys(from)) {
      const p = key(path, k);
      if (!(k in to)) out.push({ op: 'remove', path: p, from: from[k] as JsonValue });
      else out.push(...diffConfig(from[k] as JsonValue, to[k] as JsonValue, p));
    }
    for (const k of Object.keys(to)) {
      if (!(k in from)) out.push({ op: 'add', path: key(path, k), to: to[k] as JsonValue });
    }
    return out;
  }
  if (Array.isArray(from) && Array.isArray(to)) {
    const out: ConfigChange[] = [];
    const common = Math.min(from.length, to.length);
    for (let i = 0; i < common; i++) {
      out.push(...diffConfig(from[i] as JsonValue, to[i] as JsonValue, `${path}[${i}]`));
    }
    for (let i = common; i < from.length; i++) {
      out.push({ op: 'remove', path: `${path}[${i}]`, from: from[i] as JsonValue });
    }
    for (let i = common; i < to.length; i++)
      out.push({ op: 'add', path: `${path}[${i}]`, to: to[i] as JsonValue });
    return out;
  }
  if (from === to) return [];
  return [{ op: 'change', path: path || '.', from, to }];
}

/** One line per change, for the console and the audit log: `+ path = value`, `- path`, `~ path: a -> b`. */
export function formatDiff(changes: readonly ConfigChange[]): string[] {
  return changes.map((c) =>
    c.op === 'add'
      ? `+ ${c.path} = ${JSON.stringify(c.to)}`
      : c.op === 'remove'
        ? `- ${c.path} (was ${JSON.stringify(c.from)})`
        : `~ ${c.path}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`,
  );
}
