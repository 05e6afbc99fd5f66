import {
  type Decoded,
  type DecodeError,
  encodeFrame,
  type Frame,
  FrameParser,
  NONCE_BYTES,
} from './codec.ts';
import { JournalError } from './errors.ts';

/**
 * One connection's authentication state (no I/O). Each end picks a fresh random nonce and sends it in its
 * HELLO; every later frame is MACed with the receiver's nonce, so frames recorded on another connection
 * fail. Within the connection each direction numbers its frames (HELLO is 0), and a frame whose counter
 * is not above the last accepted one is a replay. Refusals are returned, never thrown.
 */
export type RefusalReason = DecodeError['code'] | 'replayed' | 'no-hello';

export interface Refusal {
  reason: RefusalReason;
  fatal: boolean;
  detail: string;
}

export type Received = { ok: true; frame: Frame } | { ok: false; refusal: Refusal };

export class Session {
  private readonly parser: FrameParser;
  private peerNonce: Buffer | undefined;
  private sent = 0;
  private lastCounter = -1;

  constructor(
    private readonly key: Buffer,
    /** This end's nonce: 16 random bytes, fresh for every connection. */
    readonly localNonce: Buffer,
  ) {
    if (localNonce.length !== NONCE_BYTES) {
      throw new JournalError(
        'JOURNAL_INVALID_ARGUMENT',
        `nonce should be ${NONCE_BYTES} bytes, got ${localNonce.length}`,
      );
    }
    this.parser = new FrameParser(key, localNonce);
  }

  /** True once the peer's HELLO arrived, so frames other than HELLO can be sent. */
  get ready(): boolean {
    return this.peerNonce !== undefined;
  }

  /** This end's HELLO (always the first frame sent). */
  hello(node: string, epoch: number, seq: number): Buffer {
    if (this.sent !== 0)
      throw new JournalError('JOURNAL_PROTOCOL', 'HELLO must be the first frame on a connection');
    return this.encode({ type: 'hello', node, nonce: this.localNonce.toString('hex'), epoch, seq });
  }

  encode(frame: Frame): Buffer {
    if (frame.type !== 'hello' && this.peerNonce === undefined) {
      throw new JournalError('JOURNAL_PROTOCOL', `cannot send ${frame.type} before the peer's HELLO`);
    }
    const counter = this.sent++;
    return encodeFrame(frame, { key: this.key, binding: this.peerNonce ?? Buffer.alloc(0), counter });
  }

  receive(chunk: Buffer): Received[] {
    return this.parser.push(chunk).map((d) => this.check(d));
  }

  private check(d: Decoded): Received {
    if (!d.ok)
      return { ok: false, refusal: { reason: d.error.code, fatal: d.error.fatal, detail: d.error.detail } };
    const { frame, counter } = d;
    if (counter <= this.lastCounter || (frame.type === 'hello' && this.peerNonce !== undefined)) {
      return {
        ok: false,
        refusal: {
          reason: 'replayed',
          fatal: false,
          detail: `${frame.type} #${counter} after #${this.lastCounter}`,
        },
      };
    }
    if (this.peerNonce === undefined && frame.type !== 'hello') {
      return {
        ok: false,
        refusal: { reason: 'no-hello', fatal: true, detail: `${frame.type} before HELLO` },
      };
    }
    this.lastCounter = counter;
    if (frame.type === 'hello') this.peerNonce = Buffer.from(frame.nonce, 'hex');
    return { ok: true, frame };
  }
}
