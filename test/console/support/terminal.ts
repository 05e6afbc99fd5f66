/**
 * The scripted terminal client of the console tests: it opens the far end of the console's pty pair,
 * sends keys, follows the screen (support/screen.ts) and waits — always with a bounded timeout — for text
 * or for the prompt to come back.
 */
import type { SerialDriver, SerialPort } from '../../../hal/serial/types.ts';
import { Screen } from './screen.ts';

export const KEYS = {
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  home: '\x1b[H',
  end: '\x1b[F',
  delete: '\x1b[3~',
  backspace: '\x7f',
  tab: '\t',
  enter: '\r',
  ctrlA: '\x01',
  ctrlC: '\x03',
  ctrlD: '\x04',
  ctrlE: '\x05',
  ctrlK: '\x0b',
  ctrlL: '\x0c',
  ctrlU: '\x15',
  ctrlW: '\x17',
} as const;

/** A console prompt: `host(role)> `, `host(role)# `, `host(role)(config)# `. */
export const PROMPT = /^\S+\([^)]*\)(\(config\))?[#>] $/;

export class TerminalClient {
  readonly screen = new Screen();
  /** Everything received, as text, escape sequences included. */
  raw = '';
  private mark = 0;
  private readonly stop = new AbortController();
  private readonly reading: Promise<void>;
  private readonly listeners = new Set<() => void>();

  private constructor(private readonly port: SerialPort) {
    this.reading = this.read();
  }

  static async open(driver: SerialDriver, path: string): Promise<TerminalClient> {
    return new TerminalClient(await driver.open(path, { baudRate: 115200 }));
  }

  private async read(): Promise<void> {
    try {
      for await (const chunk of this.port.chunks({ signal: this.stop.signal })) {
        this.screen.feed(chunk);
        this.raw += chunk.toString('utf8');
        for (const l of this.listeners) l();
      }
    } catch {
      // stopped
    }
  }

  /** Sends keys (a string is UTF-8). */
  async send(keys: string | Uint8Array): Promise<void> {
    await this.port.write(typeof keys === 'string' ? Buffer.from(keys, 'utf8') : keys);
  }

  /** From now on, waits and `output()` look only at rows after the current one. */
  markNow(): void {
    this.mark = this.screen.row;
  }

  /** The screen's rows since the mark. */
  output(): string[] {
    return this.screen.lines(this.mark);
  }

  /** Waits until `check` (run on every arrival) returns a value; fails after `timeoutMs`. */
  async until<T>(what: string, check: () => T | undefined, timeoutMs = 5000): Promise<T> {
    const now = check();
    if (now !== undefined) return now;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; screen since mark:\n${this.output().join('\n')}`,
          ),
        );
      }, timeoutMs);
      const listener = (): void => {
        const v = check();
        if (v === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(v);
      };
      this.listeners.add(listener);
    });
  }

  /** Waits for `pattern` in the screen since the mark; returns the match. */
  waitFor(pattern: RegExp | string, timeoutMs = 5000): Promise<string> {
    return this.until(
      String(pattern),
      () => {
        const text = this.output().join('\n');
        if (typeof pattern === 'string') return text.includes(pattern) ? pattern : undefined;
        return pattern.exec(text)?.[0];
      },
      timeoutMs,
    );
  }

  /** Waits until the cursor sits at the end of a line below the mark that matches `prompt` (default: a console prompt). */
  waitPrompt(prompt: RegExp = PROMPT, timeoutMs = 5000): Promise<string> {
    return this.until(
      `a prompt like ${prompt}`,
      () => {
        if (this.screen.row <= this.mark) return undefined;
        const line = this.screen.cursorLine();
        return prompt.test(line) && this.screen.col === [...line].length ? line : undefined;
      },
      timeoutMs,
    );
  }

  /** Types `command` and Enter, waits for the next prompt; returns the lines printed in between. */
  async run(command: string, options: { prompt?: RegExp; timeoutMs?: number } = {}): Promise<string[]> {
    this.markNow();
    await this.send(`${command}\r`);
    await this.waitPrompt(options.prompt ?? PROMPT, options.timeoutMs);
    return this.output().slice(1, -1);
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.port.close();
    await this.reading;
  }
}
