/**
 * A small terminal model for tests: enough VT100 to follow what the console draws (CR, LF, BS, BEL,
 * CSI n C/D, CSI K, CSI H, CSI 2J). Lines do not wrap (the console's editor never relies on wrapping).
 * Nothing is ever thrown away: clearing the screen starts a new visible area below the old rows, so row
 * numbers only grow and a test's marks stay valid.
 */
export class Screen {
  rows: string[][] = [[]];
  /** The first row of the visible area (after the last clear). */
  top = 0;
  row = 0;
  col = 0;
  bells = 0;
  private pending = '';
  private readonly decoder = new TextDecoder('utf-8');

  feed(bytes: Uint8Array): void {
    const text = this.pending + this.decoder.decode(bytes, { stream: true });
    this.pending = '';
    const chars = [...text];
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i] as string;
      if (c === '\x1b') {
        const rest = chars.slice(i).join('');
        // biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escape sequences
        const m = /^\x1b\[([0-9;]*)([A-Za-z~])/.exec(rest);
        if (!m) {
          if (rest.length < 8) {
            this.pending = rest;
            return;
          }
          continue;
        }
        this.csi(m[1] ?? '', m[2] as string);
        i += [...m[0]].length - 1;
        continue;
      }
      if (c === '\r') this.col = 0;
      else if (c === '\n') {
        this.row++;
        while (this.rows.length <= this.row) this.rows.push([]);
      } else if (c === '\b') this.col = Math.max(0, this.col - 1);
      else if (c === '\x07') this.bells++;
      else if (c >= ' ') {
        const line = this.current();
        while (line.length < this.col) line.push(' ');
        line[this.col] = c;
        this.col++;
      }
    }
  }

  private current(): string[] {
    while (this.rows.length <= this.row) this.rows.push([]);
    return this.rows[this.row] as string[];
  }

  private csi(params: string, final: string): void {
    const n = Number(params.split(';')[0] || '1');
    switch (final) {
      case 'C':
        this.col += n;
        break;
      case 'D':
        this.col = Math.max(0, this.col - n);
        break;
      case 'K':
        this.current().length = Math.min(this.current().length, this.col);
        break;
      case 'H':
        this.row = this.top;
        this.col = 0;
        break;
      case 'J':
        this.top = this.rows.length;
        this.rows.push([]);
        this.row = this.top;
        this.col = 0;
        break;
    }
  }

  /** The text of rows from `from` on. */
  lines(from = 0): string[] {
    return this.rows.slice(from).map((r) => r.join(''));
  }

  /** The rows since the screen was last cleared. */
  visible(): string[] {
    return this.lines(this.top);
  }

  /** The row the cursor is on, as text. */
  cursorLine(): string {
    return (this.rows[this.row] ?? []).join('');
  }
}
