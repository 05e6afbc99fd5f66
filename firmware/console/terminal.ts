/**
 * The console port as a terminal: one reader pumps the port's chunks into the line editor while a line is
 * being read and queues them (type-ahead) while a command runs; ctrl-c during a command aborts it.
 * Writes are serialised (the port takes one write at a time). Everything printed goes through
 * `print`, which makes each line safe for the operator's terminal and ends it with CR LF.
 */
import type { SerialPort } from '../../hal/serial/types.ts';
import type { EditorEvent, LineEditor, StartOptions } from './editor.ts';
import { safeText } from './table.ts';

/** `idle`: the shell ended the read because nobody typed for too long (see interrupt()). */
export type ReadEvent = EditorEvent | { type: 'closed' } | { type: 'idle' };

/** Type-ahead kept while a command runs; beyond this, input is dropped. */
const MAX_QUEUED = 64 * 1024;
const CTRL_C = 0x03;

export class Terminal {
  private queue: Buffer[] = [];
  private queued = 0;
  private reader: ((event: ReadEvent) => void) | undefined;
  private command: AbortController | undefined;
  private writes: Promise<void> = Promise.resolve();
  private writeError: unknown;
  private closed = false;
  private chunksIn = 0;

  constructor(
    private readonly port: SerialPort,
    private readonly editor: LineEditor,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Reads the port until it closes or `signal` aborts; then every reader gets `closed`. */
  async pump(signal: AbortSignal): Promise<void> {
    try {
      for await (const chunk of this.port.chunks({ signal })) this.receive(chunk);
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      this.closed = true;
      this.command?.abort();
      const reader = this.reader;
      this.reader = undefined;
      reader?.({ type: 'closed' });
    }
  }

  /** How many chunks have arrived so far: the shell's idle check compares it over time. */
  get inputCount(): number {
    return this.chunksIn;
  }

  /** Ends the pending readLine with `event` on a new line (nothing happens when none is pending). */
  interrupt(event: ReadEvent): void {
    const reader = this.reader;
    if (reader === undefined) return;
    this.reader = undefined;
    this.write('\r\n');
    reader(event);
  }

  private receive(chunk: Buffer): void {
    this.chunksIn++;
    if (this.reader) {
      this.process(chunk);
      return;
    }
    if (this.command && chunk.includes(CTRL_C)) {
      // ctrl-c ends the running command and whatever was typed ahead of it.
      this.command.abort();
      this.queue = [];
      this.queued = 0;
      this.write('^C\r\n');
      chunk = chunk.subarray(chunk.lastIndexOf(CTRL_C) + 1);
    }
    if (chunk.length === 0 || this.queued + chunk.length > MAX_QUEUED) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
  }

  private process(bytes: Uint8Array): void {
    const result = this.editor.feed(bytes);
    if (result.output.length > 0) this.write(result.output);
    if (result.event === undefined) return;
    if (result.rest.length > 0) {
      this.queue.unshift(Buffer.from(result.rest));
      this.queued += result.rest.length;
    }
    const reader = this.reader;
    this.reader = undefined;
    reader?.(result.event);
  }

  /** Shows `prompt` and resolves with the line the user enters (or ctrl-c, ctrl-d, or the port closing). */
  readLine(prompt: string, options: StartOptions = {}): Promise<ReadEvent> {
    if (this.closed) return Promise.resolve({ type: 'closed' });
    this.write(this.editor.start(prompt, options));
    return new Promise((resolve) => {
      this.reader = resolve;
      while (this.reading() && this.queue.length > 0) {
        const next = this.queue.shift() as Buffer;
        this.queued -= next.length;
        this.process(next);
      }
    });
  }

  private reading(): boolean {
    return this.reader !== undefined;
  }

  /** Forgets the recalled lines (at logout). */
  clearHistory(): void {
    this.editor.clearHistory();
  }

  /** Drops input typed so far (after a failed login, so nothing typed during the delay counts). */
  discardInput(): void {
    this.queue = [];
    this.queued = 0;
  }

  /** Runs `fn` as the current command: ctrl-c aborts the signal it gets. */
  async run<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.command = controller;
    if (this.closed) controller.abort();
    try {
      return await fn(controller.signal);
    } finally {
      this.command = undefined;
    }
  }

  /** Queues raw bytes for the port. */
  write(bytes: Uint8Array | string): void {
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    if (data.length === 0 || this.closed) return;
    this.writes = this.writes
      .then(() => (this.closed ? undefined : this.port.write(data)))
      .catch((err: unknown) => {
        this.writeError ??= err;
      });
  }

  /** Prints lines of text (control characters made visible), each ending in CR LF. */
  print(...lines: readonly string[]): void {
    if (lines.length > 0) this.write(lines.map((l) => `${safeText(l)}\r\n`).join(''));
  }

  /** Resolves when everything written so far has been handed to the port; rejects if a write failed. */
  async flush(): Promise<void> {
    await this.writes;
    if (this.writeError !== undefined && !this.closed) throw this.writeError;
  }
}
