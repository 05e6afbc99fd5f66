/**
 * The console's line editor: bytes from the terminal in, bytes to draw and completed lines out. No I/O:
 * the session feeds it and writes what it returns. It edits one line of whole Unicode characters behind a
 * prompt (insert, backspace, delete, cursor keys, home/end, the emacs control keys), recalls history,
 * completes words with tab and shows help with `?` through an EditorAssist, and refuses input past the
 * maximum line length with a bell and one message (a line that overflowed is discarded, not run).
 *
 * Drawing follows linenoise's single-line mode: the line scrolls sideways inside the terminal's width,
 * so a long line never wraps and a redraw is `CR, prompt, visible part, erase to end, move to cursor`.
 */
import { type Key, KeyDecoder } from './keys.ts';

export interface Completion {
  /** Where the word being completed starts, in characters of the text before the cursor. */
  from: number;
  /** Whole words that may replace it. */
  candidates: readonly string[];
}

export interface EditorAssist {
  complete(before: string): Completion;
  /** Help for what may come at the cursor, one entry per line. */
  help(before: string): readonly string[];
}

export type EditorEvent = { type: 'line'; text: string } | { type: 'interrupt' } | { type: 'eof' };

export interface FeedResult {
  output: Buffer;
  /** A completed line, ctrl-c or ctrl-d on an empty line: the editor stops until `start` is called again. */
  event: EditorEvent | undefined;
  /** Bytes after the one that ended the line, not yet looked at. */
  rest: Uint8Array;
}

export interface EditorOptions {
  /** Characters a line may hold. Default 1024. */
  maxLength?: number;
  /** Terminal width. Default 80. */
  columns?: number;
  /** Lines kept for recall. Default 100. */
  historySize?: number;
  assist?: EditorAssist;
}

export interface StartOptions {
  /** False for passwords: nothing typed is drawn, no history, no completion or help. */
  echo?: boolean;
  /** False: the line is not kept for recall (user names at the login prompt, answers to questions). */
  history?: boolean;
}

const BELL = '\x07';
const ERASE_TO_END = '\x1b[0K';
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export class LineEditor {
  readonly maxLength: number;
  private readonly columns: number;
  private readonly historySize: number;
  private readonly assist: EditorAssist | undefined;
  private readonly keys = new KeyDecoder();
  private readonly recalled: string[] = [];
  private prompt = '';
  private promptWidth = 0;
  private echo = true;
  private keep = true;
  private active = false;
  private buf: string[] = [];
  private cursor = 0;
  private historyAt = 0;
  private draft: string[] = [];
  private overflowed = false;
  private out: string[] = [];
  private dirty = false;
  private rang = false;

  constructor(options: EditorOptions = {}) {
    this.maxLength = options.maxLength ?? 1024;
    this.columns = Math.max(20, options.columns ?? 80);
    this.historySize = options.historySize ?? 100;
    this.assist = options.assist;
  }

  /** Lines entered so far (with echo on), oldest first. */
  get history(): readonly string[] {
    return this.recalled;
  }

  /** Forgets every recalled line (at logout, so the next user cannot page through them). */
  clearHistory(): void {
    this.recalled.length = 0;
  }

  /** Starts a new line behind `prompt`; returns the bytes that draw the prompt. */
  start(prompt: string, options: StartOptions = {}): Buffer {
    this.prompt = prompt;
    this.promptWidth = [...prompt].length;
    this.echo = options.echo ?? true;
    this.keep = this.echo && (options.history ?? true);
    this.active = true;
    this.resetLine();
    return Buffer.from(prompt, 'utf8');
  }

  feed(bytes: Uint8Array): FeedResult {
    this.out = [];
    this.rang = false;
    if (!this.active) return { output: Buffer.alloc(0), event: undefined, rest: bytes };
    for (let i = 0; i < bytes.length; i++) {
      const key = this.keys.push(bytes[i] as number);
      if (key === undefined) continue;
      const event = this.handle(key);
      if (event !== undefined) return { output: this.flush(), event, rest: bytes.subarray(i + 1) };
    }
    if (this.dirty) this.refresh();
    return { output: this.flush(), event: undefined, rest: new Uint8Array(0) };
  }

  private flush(): Buffer {
    const text = (this.rang ? BELL : '') + this.out.join('');
    this.out = [];
    return Buffer.from(text, 'utf8');
  }

  private resetLine(): void {
    this.buf = [];
    this.cursor = 0;
    this.historyAt = this.recalled.length;
    this.draft = [];
    this.overflowed = false;
    this.dirty = false;
  }

  private handle(key: Key): EditorEvent | undefined {
    switch (key.name) {
      case 'char':
        if (key.text === '?' && this.echo && this.assist && !this.insideQuote()) this.help();
        else this.insert([key.text]);
        return undefined;
      case 'enter':
        return this.enter();
      case 'interrupt':
        this.write('^C\r\n');
        this.active = false;
        this.buf = [];
        return { type: 'interrupt' };
      case 'eof':
        if (this.buf.length === 0) {
          this.active = false;
          return { type: 'eof' };
        }
        this.remove(this.cursor, this.cursor + 1);
        return undefined;
      case 'backspace':
        if (this.cursor > 0) this.remove(this.cursor - 1, this.cursor);
        return undefined;
      case 'delete':
        this.remove(this.cursor, this.cursor + 1);
        return undefined;
      case 'left':
        this.moveTo(this.cursor - 1);
        return undefined;
      case 'right':
        this.moveTo(this.cursor + 1);
        return undefined;
      case 'home':
        this.moveTo(0);
        return undefined;
      case 'end':
        this.moveTo(this.buf.length);
        return undefined;
      case 'up':
        this.recall(-1);
        return undefined;
      case 'down':
        this.recall(1);
        return undefined;
      case 'kill-to-start':
        this.remove(0, this.cursor);
        return undefined;
      case 'kill-to-end':
        this.remove(this.cursor, this.buf.length);
        return undefined;
      case 'kill-word':
        this.remove(this.wordStart(), this.cursor);
        return undefined;
      case 'tab':
        if (this.echo && this.assist) this.complete();
        return undefined;
      case 'clear':
        this.write(CLEAR_SCREEN);
        this.dirty = true;
        return undefined;
    }
  }

  private write(text: string): void {
    if (this.dirty && text !== CLEAR_SCREEN) this.refresh();
    this.out.push(text);
  }

  private enter(): EditorEvent | undefined {
    this.write('\r\n');
    if (this.overflowed) {
      this.write(`% line discarded: longer than ${this.maxLength} characters\r\n${this.prompt}`);
      this.resetLine();
      return undefined;
    }
    const text = this.buf.join('');
    if (this.keep && text.trim() !== '' && this.recalled.at(-1) !== text) {
      this.recalled.push(text);
      if (this.recalled.length > this.historySize) this.recalled.shift();
    }
    this.active = false;
    this.buf = [];
    return { type: 'line', text };
  }

  private insert(chars: readonly string[]): boolean {
    if (this.buf.length + chars.length > this.maxLength) {
      this.rang = true;
      if (!this.overflowed) {
        this.overflowed = true;
        this.write(`\r\n% line too long: at most ${this.maxLength} characters; the rest is refused\r\n`);
        this.dirty = true;
      }
      return false;
    }
    const atEnd = this.cursor === this.buf.length;
    this.buf.splice(this.cursor, 0, ...chars);
    this.cursor += chars.length;
    if (!this.echo) return true;
    if (atEnd && !this.dirty && this.promptWidth + this.buf.length < this.columns)
      this.out.push(chars.join(''));
    else this.dirty = true;
    return true;
  }

  private remove(from: number, to: number): void {
    const start = Math.max(0, from);
    const end = Math.min(this.buf.length, to);
    if (end <= start) return;
    const atEnd = end === this.buf.length && this.cursor === end;
    this.buf.splice(start, end - start);
    this.cursor = start;
    if (this.buf.length === 0) this.overflowed = false;
    if (!this.echo) return;
    const width = end - start;
    if (atEnd && !this.dirty && this.promptWidth + this.buf.length + width < this.columns) {
      this.out.push('\b'.repeat(width) + ERASE_TO_END);
    } else this.dirty = true;
  }

  private moveTo(position: number): void {
    const next = Math.max(0, Math.min(this.buf.length, position));
    if (next === this.cursor) return;
    this.cursor = next;
    if (this.echo) this.dirty = true;
  }

  private wordStart(): number {
    let i = this.cursor;
    while (i > 0 && this.buf[i - 1] === ' ') i--;
    while (i > 0 && this.buf[i - 1] !== ' ') i--;
    return i;
  }

  private recall(step: -1 | 1): void {
    if (!this.keep) return;
    const next = this.historyAt + step;
    if (next < 0 || next > this.recalled.length) {
      this.rang = true;
      return;
    }
    if (this.historyAt === this.recalled.length) this.draft = this.buf;
    this.historyAt = next;
    this.buf = next === this.recalled.length ? this.draft : [...(this.recalled[next] as string)];
    this.cursor = this.buf.length;
    this.overflowed = false;
    this.dirty = true;
  }

  private insideQuote(): boolean {
    let inside = false;
    for (let i = 0; i < this.cursor; i++) {
      const c = this.buf[i];
      if (c === '\\' && inside) i++;
      else if (c === '"') inside = !inside;
    }
    return inside;
  }

  private help(): void {
    const lines = (this.assist as EditorAssist).help(this.buf.slice(0, this.cursor).join(''));
    this.write(`\r\n${lines.map((l) => `${l}\r\n`).join('')}`);
    this.dirty = true;
  }

  private complete(): void {
    const before = this.buf.slice(0, this.cursor);
    const { from, candidates } = (this.assist as EditorAssist).complete(before.join(''));
    const word = before.slice(from).join('');
    const matching = candidates.filter((c) => c.startsWith(word));
    if (matching.length === 0) {
      this.rang = true;
      return;
    }
    if (matching.length === 1) {
      const next = this.buf[this.cursor];
      this.replaceWord(from, `${matching[0]}${next === ' ' ? '' : ' '}`);
      return;
    }
    const common = commonPrefix(matching);
    if ([...common].length > [...word].length) {
      this.replaceWord(from, common);
      return;
    }
    this.write(`\r\n${columnize(matching, this.columns)}`);
    this.dirty = true;
  }

  private replaceWord(from: number, text: string): void {
    const chars = [...text];
    if (this.buf.length - (this.cursor - from) + chars.length > this.maxLength) {
      this.rang = true;
      return;
    }
    this.buf.splice(from, this.cursor - from, ...chars);
    this.cursor = from + chars.length;
    this.dirty = true;
  }

  private refresh(): void {
    this.dirty = false;
    this.out.push(this.refreshText());
  }

  private refreshText(): string {
    const shown = this.echo ? this.buf : [];
    let start = 0;
    let length = shown.length;
    let position = this.echo ? this.cursor : 0;
    while (this.promptWidth + position >= this.columns && position > 0) {
      start++;
      length--;
      position--;
    }
    while (this.promptWidth + length > this.columns - 1) length--;
    const visible = shown.slice(start, start + Math.max(0, length)).join('');
    const column = this.promptWidth + position;
    return `\r${this.prompt}${visible}${ERASE_TO_END}\r${column > 0 ? `\x1b[${column}C` : ''}`;
  }
}

function commonPrefix(words: readonly string[]): string {
  let prefix = words[0] ?? '';
  for (const w of words) while (!w.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

/** Words laid out in columns that fit `columns`, each row ending in CR LF. */
function columnize(words: readonly string[], columns: number): string {
  const width = Math.max(...words.map((w) => [...w].length)) + 2;
  const perRow = Math.max(1, Math.floor(columns / width));
  let out = '';
  for (let i = 0; i < words.length; i += perRow) {
    const row = words.slice(i, i + perRow);
    out += `${row.map((w, j) => (j === row.length - 1 ? w : w.padEnd(width))).join('')}\r\n`;
  }
  return out;
}
