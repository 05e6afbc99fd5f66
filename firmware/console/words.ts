/**
 * Splits a command line into words: separated by spaces, or a double-quoted string in which `\"` and `\\`
 * stand for themselves. Positions are kept so errors and completion can point at a word.
 */

export interface Word {
  /** The word's value (quotes and escapes removed). */
  text: string;
  /** Index of its first character in the line, and one past its last. */
  start: number;
  end: number;
  quoted: boolean;
  /** A quoted word the line ended inside. */
  open: boolean;
}

export function splitWords(line: string): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const start = i;
    if (c === '"') {
      let text = '';
      i++;
      let open = true;
      while (i < line.length) {
        const d = line[i] as string;
        if (d === '\\' && i + 1 < line.length) {
          text += line[i + 1];
          i += 2;
        } else if (d === '"') {
          i++;
          open = false;
          break;
        } else {
          text += d;
          i++;
        }
      }
      words.push({ text, start, end: i, quoted: true, open });
      continue;
    }
    while (i < line.length && line[i] !== ' ' && line[i] !== '\t') i++;
    words.push({ text: line.slice(start, i), start, end: i, quoted: false, open: false });
  }
  return words;
}
