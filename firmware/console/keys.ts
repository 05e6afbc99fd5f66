/**
 * Terminal input bytes → keys. Escape sequences (CSI `ESC [ … final`, SS3 `ESC O x`) and UTF-8 characters
 * may be split across reads: the decoder keeps the partial tail. Anything that is not a key the editor
 * knows — other control bytes, unknown or over-long sequences, malformed UTF-8, C1 controls — is dropped,
 * so binary garbage on the line produces nothing but the printable characters it happens to contain.
 */

export type KeyName =
  | 'enter'
  | 'backspace'
  | 'delete'
  | 'left'
  | 'right'
  | 'up'
  | 'down'
  | 'home'
  | 'end'
  | 'tab'
  | 'kill-to-start' // ctrl-u
  | 'kill-to-end' // ctrl-k
  | 'kill-word' // ctrl-w
  | 'interrupt' // ctrl-c
  | 'eof' // ctrl-d
  | 'clear'; // ctrl-l

/** A named key, or one printable character (a whole Unicode code point). */
export type Key = { name: KeyName } | { name: 'char'; text: string };

const CONTROL: Partial<Record<number, KeyName>> = {
  1: 'home', // ctrl-a
  2: 'left', // ctrl-b
  3: 'interrupt', // ctrl-c
  4: 'eof', // ctrl-d
  5: 'end', // ctrl-e
  6: 'right', // ctrl-f
  8: 'backspace', // ctrl-h
  9: 'tab',
  11: 'kill-to-end', // ctrl-k
  12: 'clear', // ctrl-l
  14: 'down', // ctrl-n
  16: 'up', // ctrl-p
  21: 'kill-to-start', // ctrl-u
  23: 'kill-word', // ctrl-w
  127: 'backspace',
};

const CSI_FINAL: Partial<Record<string, KeyName>> = {
  A: 'up',
  B: 'down',
  C: 'right',
  D: 'left',
  H: 'home',
  F: 'end',
};
const CSI_TILDE: Partial<Record<string, KeyName>> = {
  '1': 'home',
  '7': 'home',
  '4': 'end',
  '8': 'end',
  '3': 'delete',
};

/** Longest CSI parameter string accepted; longer is garbage, dropped. */
const MAX_CSI = 16;

/** `skip`: a sequence too long to be a key, dropped up to its final byte. */
type Mode = 'ground' | 'esc' | 'csi' | 'ss3' | 'skip';

export class KeyDecoder {
  private mode: Mode = 'ground';
  private csi = '';
  private utf8: number[] = [];
  private utf8Need = 0;
  private afterCr = false;
  private readonly text = new TextDecoder('utf-8', { fatal: true });

  /** Decodes one byte; returns the key it completes, if any. */
  push(byte: number): Key | undefined {
    const afterCr = this.afterCr;
    this.afterCr = false;
    if (this.utf8Need > 0) {
      if (byte >= 0x80 && byte <= 0xbf) {
        this.utf8.push(byte);
        if (--this.utf8Need > 0) return undefined;
        return this.finishUtf8();
      }
      this.utf8 = [];
      this.utf8Need = 0; // malformed: drop it and read this byte afresh
    }
    switch (this.mode) {
      case 'esc':
        this.csi = '';
        if (byte === 0x5b || byte === 0x4f || byte === 0x1b) {
          this.mode = byte === 0x5b ? 'csi' : byte === 0x4f ? 'ss3' : 'esc';
          return undefined;
        }
        this.mode = 'ground';
        // ESC + a control byte: the ESC was a lone key press; ESC + anything else: an Alt chord, dropped.
        if (byte >= 0x20 && byte !== 0x7f) return undefined;
        break;
      case 'ss3':
        this.mode = 'ground';
        return named(CSI_FINAL[String.fromCharCode(byte)]);
      case 'csi':
      case 'skip':
        return this.pushCsi(byte);
      case 'ground':
        break;
    }
    if (byte === 0x1b) {
      this.mode = 'esc';
      return undefined;
    }
    if (byte === 0x0d) {
      this.afterCr = true;
      return { name: 'enter' };
    }
    if (byte === 0x0a) return afterCr ? undefined : { name: 'enter' };
    if (byte < 0x20 || byte === 0x7f) return named(CONTROL[byte]);
    if (byte < 0x80) return { name: 'char', text: String.fromCharCode(byte) };
    const need =
      byte >= 0xc2 && byte <= 0xdf
        ? 1
        : byte >= 0xe0 && byte <= 0xef
          ? 2
          : byte >= 0xf0 && byte <= 0xf4
            ? 3
            : 0;
    if (need === 0) return undefined;
    this.utf8 = [byte];
    this.utf8Need = need;
    return undefined;
  }

  private pushCsi(byte: number): Key | undefined {
    if (byte >= 0x20 && byte <= 0x3f) {
      this.csi += String.fromCharCode(byte);
      if (this.csi.length > MAX_CSI) this.mode = 'skip';
      return undefined;
    }
    const skipped = this.mode === 'skip';
    this.mode = 'ground';
    if (byte >= 0x40 && byte <= 0x7e) {
      if (skipped) return undefined;
      const final = String.fromCharCode(byte);
      if (final === '~') return named(CSI_TILDE[this.csi.split(';')[0] ?? '']);
      return named(CSI_FINAL[final]);
    }
    // A control byte inside a sequence ends it; the byte itself still counts (ECMA-48 executes it).
    return this.push(byte);
  }

  private finishUtf8(): Key | undefined {
    const bytes = Uint8Array.from(this.utf8);
    this.utf8 = [];
    let text: string;
    try {
      text = this.text.decode(bytes);
    } catch {
      return undefined; // overlong form or a surrogate
    }
    const cp = text.codePointAt(0) ?? 0;
    if (cp >= 0x80 && cp <= 0x9f) return undefined; // C1 controls
    if (cp === 0x2028 || cp === 0x2029 || cp === 0xfeff) return undefined;
    return { name: 'char', text };
  }
}

const named = (name: KeyName | undefined): Key | undefined => (name === undefined ? undefined : { name });
