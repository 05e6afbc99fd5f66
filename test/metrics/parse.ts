/**
 * A strict reader of the Prometheus text format (0.0.4), independent of the writer under test: it
 * refuses what Prometheus would refuse (bad names, unknown escapes, a sample before its TYPE, a family
 * declared twice, a repeated series) and gives back the families with unescaped label values.
 */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  help: string | undefined;
  type: string | undefined;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function unescapeHelp(text: string, line: number): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    throw new Error(`line ${line}: HELP escape \\${c} is not allowed`);
  });
}

function value(text: string, line: number): number {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`line ${line}: bad value ${text}`);
  return Number(text);
}

/** Parses `{a="x",b="y"}` from the start of `rest`; returns the labels and what follows. */
function labels(rest: string, line: number): { labels: Record<string, string>; rest: string } {
  const out: Record<string, string> = {};
  let i = 1;
  for (;;) {
    if (rest[i] === '}') return { labels: out, rest: rest.slice(i + 1) };
    const m = LABEL.exec(rest.slice(i));
    if (m === null) throw new Error(`line ${line}: bad label name at ${rest.slice(i, i + 10)}`);
    const name = m[0];
    if (name in out) throw new Error(`line ${line}: label ${name} twice`);
    i += name.length;
    if (rest.slice(i, i + 2) !== '="') throw new Error(`line ${line}: expected =" after ${name}`);
    i += 2;
    let v = '';
    for (;;) {
      const c = rest[i];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = rest[i + 1];
        if (e === '\\') v += '\\';
        else if (e === '"') v += '"';
        else if (e === 'n') v += '\n';
        else throw new Error(`line ${line}: label escape \\${e} is not allowed`);
        i += 2;
      } else {
        v += c;
        i += 1;
      }
    }
    out[name] = v;
    i += 1;
    if (rest[i] === ',') i += 1;
    else if (rest[i] !== '}') throw new Error(`line ${line}: expected , or } after label ${name}`);
  }
}

export function parseExposition(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const seriesSeen = new Set<string>();
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([^ ]+) ?(.*)$/.exec(raw);
      if (m === null) return;
      const [, kind, name = '', rest = ''] = m;
      if (!NAME.test(name) || NAME.exec(name)?.[0] !== name)
        throw new Error(`line ${line}: bad name ${name}`);
      const f = families.get(name) ?? { help: undefined, type: undefined, samples: [] };
      if (f.samples.length > 0) throw new Error(`line ${line}: ${kind} for ${name} after its samples`);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`line ${line}: second HELP for ${name}`);
        f.help = unescapeHelp(rest, line);
      } else {
        if (f.type !== undefined) throw new Error(`line ${line}: second TYPE for ${name}`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) {
          throw new Error(`line ${line}: unknown type ${rest}`);
        }
        f.type = rest;
      }
      families.set(name, f);
      return;
    }
    if (raw.trim() === '') throw new Error(`line ${line}: empty line`);
    const m = NAME.exec(raw);
    if (m === null) throw new Error(`line ${line}: bad sample ${raw}`);
    const name = m[0];
    let rest = raw.slice(name.length);
    let l: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels: l, rest } = labels(rest, line));
    if (!rest.startsWith(' ')) throw new Error(`line ${line}: expected a space before the value`);
    const parts = rest.trim().split(' ');
    if (parts.length > 2) throw new Error(`line ${line}: trailing text ${rest}`);
    const f = families.get(name);
    if (f?.type === undefined) throw new Error(`line ${line}: sample of ${name} before its TYPE`);
    const key = `${name}${JSON.stringify(Object.entries(l).sort())}`;
    if (seriesSeen.has(key)) throw new Error(`line ${line}: series repeated: ${raw}`);
    seriesSeen.add(key);
    f.samples.push({ name, labels: l, value: value(parts[0] ?? '', line) });
  });
  return families;
}

/** The value of the one sample of `name` whose labels include `match`; undefined when none. */
export function sampleValue(
  families: Map<string, ParsedFamily>,
  name: string,
  match: Record<string, string> = {},
): number | undefined {
  const s = families
    .get(name)
    ?.samples.find((x) => Object.entries(match).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}
