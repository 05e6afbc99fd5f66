/** The typed arguments of the console's commands: each parses one word or says what it expected. */
import { isIP } from 'node:net';
import type { Args, ParseOutcome, ValueType } from './grammar.ts';

const ok = (value: unknown): ParseOutcome => ({ ok: true, value });
const no: ParseOutcome = { ok: false };

/** One of a fixed set of words. */
export function choice<C>(values: readonly string[]): ValueType<C> {
  return {
    describe: values.join('|'),
    parse: (text) => (values.includes(text) ? ok(text) : no),
    complete: () => values,
  };
}

/** A whole number in [min, max]; `unit` is shown in help (`<ms 1-3600000>`). */
export function integer<C>(unit: string, min: number, max: number): ValueType<C> {
  return {
    describe: `<${unit} ${min}-${max}>`,
    parse: (text) => {
      if (!/^\d{1,10}$/.test(text)) return no;
      const n = Number(text);
      return n >= min && n <= max ? ok(n) : no;
    },
  };
}

export const port = <C>(): ValueType<C> => integer('port', 1, 65535);
export const milliseconds = <C>(min = 1): ValueType<C> => integer('ms', min, 3_600_000);

export function onOff<C>(): ValueType<C> {
  return {
    describe: 'on|off',
    parse: (text) => (text === 'on' ? ok(true) : text === 'off' ? ok(false) : no),
    complete: () => ['on', 'off'],
  };
}

export function address<C>(): ValueType<C> {
  return { describe: '<IPv4 or IPv6 address>', parse: (text) => (isIP(text) !== 0 ? ok(text) : no) };
}

/** A name matching `pattern` (`rule` says what that allows); `names` offers the existing ones at tab. */
export function name<C>(
  what: string,
  pattern: RegExp,
  rule: string,
  names?: (context: C, args: Args) => readonly string[],
): ValueType<C> {
  return {
    describe: `<${what}>`,
    parse: (text) => (pattern.test(text) ? ok(text) : { ok: false, expected: `<${what}>: ${rule}` }),
    ...(names ? { complete: names } : {}),
  };
}

/** Any word (quote it to include spaces). */
export function text<C>(what: string, maxLength = 256): ValueType<C> {
  return {
    describe: `<${what}>`,
    parse: (t) =>
      t.length > 0 && t.length <= maxLength
        ? ok(t)
        : { ok: false, expected: `<${what}> of 1-${maxLength} characters` },
  };
}

/** A comma-separated list of HTTP status codes and ranges: `200,301-302`. */
export function statusList<C>(): ValueType<C> {
  return {
    describe: '<codes like 200,300-399>',
    parse: (t) => {
      const parts = t.split(',');
      const good = parts.every((p) => /^[1-5]\d\d(-[1-5]\d\d)?$/.test(p));
      return good ? ok(parts.map((p) => (p.includes('-') ? p : Number(p)))) : no;
    },
  };
}

/** A check field's value: JSON when it parses as JSON (numbers, true/false, lists), else the word itself. */
export function fieldValue<C>(): ValueType<C> {
  return {
    describe: '<value: JSON or a word>',
    parse: (t) => {
      try {
        return ok(JSON.parse(t) as unknown);
      } catch {
        return ok(t);
      }
    },
  };
}
