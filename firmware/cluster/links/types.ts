/**
 * A heartbeat link shell: it carries encoded frames between the two nodes on one medium (the serial
 * cable, UDP on the heartbeat NIC), decodes and authenticates what arrives with the codec, and counts
 * everything it drops. It never decides anything: accepted frames go to the sink, the core judges them.
 */
import type { DecodeErrorKind } from '../codec.ts';
import type { Heartbeat, LinkName } from '../types.ts';

export interface LinkCounters {
  /** Authenticated frames handed to the sink. */
  framesIn: number;
  /** Frames handed to the medium. */
  framesOut: number;
  bytesIn: number;
  /** Rejected input, by the codec's kind (garbage, bad-crc, bad-mac, …). */
  decodeErrors: Record<DecodeErrorKind, number>;
  drops: {
    /** A newer frame replaced one still waiting behind a write in flight (a slow or blocked cable). */
    superseded: number;
    /** The medium was not open (port missing, socket not bound) when a frame was due. */
    notOpen: number;
    /** The medium refused a frame (write error, unreachable network). */
    sendFailed: number;
    /** Datagrams from an address other than the peer's (UDP only). */
    foreign: number;
  };
  /** Times the medium was (re)opened. */
  opens: number;
}

export interface LinkStats {
  readonly name: LinkName;
  /** The medium is open (port open, socket bound). */
  readonly open: boolean;
  /** What it runs on: the serial device, or `local -> peer:port`. */
  readonly medium: string;
  readonly lastError: string | undefined;
  readonly counters: LinkCounters;
}

export interface HeartbeatLink {
  readonly name: LinkName;
  /** Queues one encoded frame; never throws and never waits (a frame that cannot go is counted). */
  send(frame: Buffer): void;
  stats(): LinkStats;
  /** Stops reading and writing and releases the medium. Calling it again returns the same promise. */
  close(): Promise<void>;
}

/** Where a link delivers what it accepted. */
export type FrameSink = (hb: Heartbeat) => void;

export type LinkLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
