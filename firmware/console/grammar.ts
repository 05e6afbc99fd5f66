/**
 * The command grammar engine. A grammar is data: a tree of keyword and typed-argument nodes, each with
 * help text, where a node that can end a command names it (`run`) and may take options (keyword, value
 * pairs in any order). From that one definition come parsing (with errors that name the word, its
 * position and what was expected), tab completion and `?` help. Keywords may be abbreviated to any
 * unique prefix. The engine is pure; `C` is whatever context argument types need to offer completions.
 */
import { safeText } from './table.ts';
import { splitWords, type Word } from './words.ts';

export type Args = Record<string, unknown>;

export type ParseOutcome = { ok: true; value: unknown } | { ok: false; expected?: string };

export interface ValueType<C> {
  /** How a value looks, in help and errors: `<port 1-65535>`, `tcp|udp`. */
  readonly describe: string;
  parse(text: string): ParseOutcome;
  /** Values to offer at tab, given the context and the arguments parsed so far. */
  complete?(context: C, args: Args): readonly string[];
}

export interface Param<C> {
  readonly name: string;
  readonly type: ValueType<C>;
}

export interface OptionSpec<C> {
  readonly word: string;
  readonly help: string;
  readonly params?: readonly Param<C>[];
  /** May be given more than once; its values are collected in a list. */
  readonly repeat?: boolean;
}

export interface GrammarNode<C> {
  /** A keyword node matches this word; otherwise `param` matches a typed value. */
  readonly word?: string;
  readonly param?: Param<C>;
  readonly help: string;
  readonly children?: readonly GrammarNode<C>[];
  readonly options?: readonly OptionSpec<C>[];
  /** Options that must be given when the command ends here. */
  readonly minOptions?: number;
  /** The command a line ending here runs. */
  readonly run?: string;
  /** The keyword must be typed in full: a stray abbreviation must never run this. */
  readonly exact?: boolean;
}

export interface Parsed {
  readonly command: string;
  /** Values of the argument nodes on the path, by name. */
  readonly args: Args;
  /** Given options by keyword: `true` (no value), the value, a list of values (several), or a list of those (repeat). */
  readonly options: Readonly<Record<string, unknown>>;
}

export interface ParseError {
  /** 1-based word number; one past the last word when a word is missing. */
  readonly word: number;
  /** The offending word as typed; undefined when a word is missing. */
  readonly token: string | undefined;
  readonly message: string;
}

export type ParseResult = { ok: true; parsed: Parsed } | { ok: false; error: ParseError };

interface State<C> {
  node: GrammarNode<C>;
  inOptions: boolean;
  pending: { spec: OptionSpec<C>; values: unknown[] } | undefined;
  args: Args;
  options: Record<string, unknown>;
  used: Set<string>;
}

type Expectation<C> =
  | {
      kind: 'keyword';
      word: string;
      help: string;
      option: OptionSpec<C> | undefined;
      node: GrammarNode<C> | undefined;
    }
  | { kind: 'param'; param: Param<C>; help: string; node: GrammarNode<C> | undefined }
  | { kind: 'end' };

const CR_HELP = 'run the command';

export class Grammar<C> {
  private readonly root: GrammarNode<C>;

  constructor(commands: readonly GrammarNode<C>[]) {
    this.root = { help: '', children: commands };
  }

  parse(line: string): ParseResult {
    const words = splitWords(line);
    const open = words.find((w) => w.open);
    if (open) {
      return {
        ok: false,
        error: { word: words.indexOf(open) + 1, token: open.text, message: 'unterminated quote' },
      };
    }
    const walked = this.walk(words);
    if ('error' in walked) return { ok: false, error: walked.error };
    const s = walked.state;
    const missing = words.length + 1;
    if (s.pending) {
      const param = s.pending.spec.params?.[s.pending.values.length] as Param<C>;
      return fail(missing, undefined, `expected ${param.type.describe} after '${s.pending.spec.word}'`);
    }
    if (s.node.run === undefined || words.length === 0) {
      return fail(missing, undefined, `incomplete command: expected ${this.describe(s)}`);
    }
    if (s.used.size < (s.node.minOptions ?? 0)) {
      const names = (s.node.options ?? []).map((o) => o.word).join('|');
      return fail(missing, undefined, `incomplete command: expected ${names}`);
    }
    return { ok: true, parsed: { command: s.node.run, args: s.args, options: s.options } };
  }

  /** Completion for the word ending at the end of `before` (the text left of the cursor). */
  complete(before: string, context: C): { from: number; candidates: string[] } {
    const { words, partial } = splitPartial(before);
    const from = [...before.slice(0, partial?.start ?? before.length)].length;
    if (partial?.quoted) return { from, candidates: [] };
    const walked = this.walk(words);
    if ('error' in walked) return { from, candidates: [] };
    const prefix = partial?.text ?? '';
    const out: string[] = [];
    for (const e of this.expectations(walked.state)) {
      if (e.kind === 'keyword') out.push(e.word);
      else if (e.kind === 'param') out.push(...(e.param.type.complete?.(context, walked.state.args) ?? []));
    }
    return { from, candidates: [...new Set(out.filter((c) => c.startsWith(prefix)))] };
  }

  /** Help for what may come at the end of `before`: one line per possibility, or the error so far. */
  help(before: string): string[] {
    const { words, partial } = splitPartial(before);
    const walked = this.walk(words);
    if ('error' in walked) return [`% ${formatParseError(walked.error)}`];
    const prefix = partial?.text ?? '';
    const rows: [string, string][] = [];
    for (const e of this.expectations(walked.state)) {
      if (e.kind === 'keyword' && e.word.startsWith(prefix)) rows.push([e.word, e.help]);
      else if (e.kind === 'param') rows.push([e.param.type.describe, e.help]);
      else if (e.kind === 'end' && partial === undefined) rows.push(['<cr>', CR_HELP]);
    }
    if (rows.length === 0) return [`% nothing here matches '${safeText(prefix)}'`];
    const width = Math.max(...rows.map(([k]) => [...k].length));
    return rows.map(([k, h]) => `  ${k.padEnd(width)}  ${h}`);
  }

  private walk(words: readonly Word[]): { state: State<C> } | { error: ParseError } {
    const state: State<C> = {
      node: this.root,
      inOptions: false,
      pending: undefined,
      args: {},
      options: {},
      used: new Set(),
    };
    for (const [i, word] of words.entries()) {
      const error = this.consume(state, word, i + 1);
      if (error) return { error };
    }
    return { state };
  }

  private consume(s: State<C>, word: Word, n: number): ParseError | undefined {
    if (s.pending) {
      const spec = s.pending.spec;
      const param = spec.params?.[s.pending.values.length] as Param<C>;
      const r = param.type.parse(word.text);
      if (!r.ok)
        return { word: n, token: word.text, message: `expected ${r.expected ?? param.type.describe}` };
      s.pending.values.push(r.value);
      if (s.pending.values.length === spec.params?.length) {
        record(s, spec, s.pending.values.length === 1 ? s.pending.values[0] : s.pending.values);
        s.pending = undefined;
      }
      return undefined;
    }
    const choices = this.expectations(s);
    const keywords = choices.filter((e) => e.kind === 'keyword');
    const paramChoice = choices.find((e) => e.kind === 'param');
    if (!word.quoted) {
      const exact = keywords.find((k) => k.word === word.text);
      if (exact) return this.take(s, exact);
      const prefixed = keywords.filter((k) => !k.node?.exact && k.word.startsWith(word.text));
      if (prefixed.length === 1) return this.take(s, prefixed[0] as (typeof prefixed)[number]);
      if (prefixed.length > 1 && !paramChoice?.param.type.parse(word.text).ok) {
        return {
          word: n,
          token: word.text,
          message: `ambiguous: could be ${prefixed.map((k) => k.word).join('|')}`,
        };
      }
    }
    if (paramChoice) {
      const r = paramChoice.param.type.parse(word.text);
      if (r.ok) {
        s.args[paramChoice.param.name] = r.value;
        s.node = paramChoice.node as GrammarNode<C>;
        s.inOptions = false;
        return undefined;
      }
      if (keywords.length === 0) {
        return {
          word: n,
          token: word.text,
          message: `expected ${r.expected ?? paramChoice.param.type.describe}`,
        };
      }
    }
    if (choices.length === 1 && choices[0]?.kind === 'end') {
      return { word: n, token: word.text, message: 'unexpected: the command is complete before this word' };
    }
    const what = s.node === this.root ? 'unknown command, expected' : 'expected';
    return { word: n, token: word.text, message: `${what} ${this.describe(s)}` };
  }

  private take(s: State<C>, e: Extract<Expectation<C>, { kind: 'keyword' }>): undefined {
    if (e.node) {
      s.node = e.node;
      s.inOptions = false;
      return undefined;
    }
    const spec = e.option as OptionSpec<C>;
    s.inOptions = true;
    s.used.add(spec.word);
    if (spec.params && spec.params.length > 0) s.pending = { spec, values: [] };
    else record(s, spec, true);
    return undefined;
  }

  private expectations(s: State<C>): Expectation<C>[] {
    if (s.pending) {
      const param = s.pending.spec.params?.[s.pending.values.length] as Param<C>;
      return [{ kind: 'param', param, help: s.pending.spec.help, node: undefined }];
    }
    const out: Expectation<C>[] = [];
    if (!s.inOptions) {
      for (const child of s.node.children ?? []) {
        if (child.word !== undefined)
          out.push({ kind: 'keyword', word: child.word, help: child.help, option: undefined, node: child });
        else if (child.param) out.push({ kind: 'param', param: child.param, help: child.help, node: child });
      }
    }
    for (const spec of s.node.options ?? []) {
      if (!s.used.has(spec.word) || spec.repeat) {
        out.push({ kind: 'keyword', word: spec.word, help: spec.help, option: spec, node: undefined });
      }
    }
    if (s.node.run !== undefined && s.node !== this.root && s.used.size >= (s.node.minOptions ?? 0)) {
      out.push({ kind: 'end' });
    }
    return out;
  }

  private describe(s: State<C>): string {
    const parts = this.expectations(s).map((e) =>
      e.kind === 'keyword' ? e.word : e.kind === 'param' ? e.param.type.describe : '<end of line>',
    );
    return parts.join('|') || 'nothing more';
  }
}

function record<C>(s: State<C>, spec: OptionSpec<C>, value: unknown): void {
  if (!spec.repeat) s.options[spec.word] = value;
  else s.options[spec.word] = [...((s.options[spec.word] as unknown[] | undefined) ?? []), value];
}

function fail(word: number, token: string | undefined, message: string): ParseResult {
  return { ok: false, error: { word, token, message } };
}

/** The words before the cursor, and the one the cursor is in (none after a space). */
function splitPartial(before: string): { words: Word[]; partial: Word | undefined } {
  const words = splitWords(before);
  const last = words.at(-1);
  const partial = last !== undefined && (last.end === before.length || last.open) ? last : undefined;
  return { words: partial ? words.slice(0, -1) : words, partial };
}

/**
 * `line 1, word 3 'prot': expected tcp|udp` (a long or binary token is shortened and made printable);
 * without `line` (help at the cursor, where the line is the one being typed) it starts at `word`.
 */
export function formatParseError(error: ParseError, line?: number): string {
  const where = `${line === undefined ? '' : `line ${line}, `}word ${error.word}`;
  if (error.token === undefined) return `${where}: ${error.message}`;
  const chars = [...error.token];
  const shown = chars.length > 40 ? `${chars.slice(0, 37).join('')}...` : error.token;
  return `${where} '${safeText(shown)}': ${error.message}`;
}
