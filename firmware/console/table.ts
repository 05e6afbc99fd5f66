/**
 * Aligned text tables for the console: columns as wide as their widest cell, numbers right-aligned, a
 * rule under the header. Cells are made safe first: control characters could move the cursor or clear
 * the operator's screen, so they are shown as `?`.
 */

export interface Column {
  title: string;
  align?: 'left' | 'right';
}

const width = (s: string): number => [...s].length;

/** Replaces control characters (C0, DEL, C1) so a value from the network cannot drive the terminal. */
export function safeText(value: unknown): string {
  const text = value === undefined || value === null ? '-' : String(value);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly what must not reach the terminal
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
}

function pad(text: string, size: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, size - width(text)));
  return align === 'right' ? fill + text : text + fill;
}

/** The table as lines (no line endings): header, rule, one line per row. Trailing spaces are trimmed. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly unknown[])[]): string[] {
  const cells = rows.map((row) => columns.map((_, i) => safeText(row[i])));
  const widths = columns.map((c, i) => Math.max(width(c.title), ...cells.map((r) => width(r[i] as string))));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => pad(v, widths[i] as number, columns[i]?.align ?? 'left'))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title)), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
}

/** `key  value` pairs with the values aligned, for single-object views (show version, show journal). */
export function renderPairs(pairs: readonly (readonly [string, unknown])[]): string[] {
  const keyWidth = Math.max(0, ...pairs.map(([k]) => width(k)));
  return pairs.map(([k, v]) => `${pad(`${safeText(k)}`, keyWidth, 'left')}  ${safeText(v)}`.trimEnd());
}
