/**
 * The cluster's error catalogue: one code per fault, one message template per code. Callers branch on
 * `code` (a string-literal union) or `instanceof ClusterError`, never on the message. Input from the peer
 * (bytes, frames) never throws: the codec returns typed decode errors instead. These are for the caller's
 * own mistakes: bad configuration, a shell bug, or an operator command the current role forbids.
 */
import { FirmwareError } from '../errors.ts';
export type ClusterErrorCode =
  | 'CLUSTER_INVALID_CONFIG' // a configuration field is missing, of the wrong type or out of range
  | 'CLUSTER_INVALID_EVENT' // an event is malformed (unknown link, health out of range, bad now)
  | 'CLUSTER_TIME_BACKWARDS' // `now` passed to step is earlier than the previous one
  | 'CLUSTER_IMPOSSIBLE_EVENT' // the event has no meaning in the current role
  | 'CLUSTER_COMMAND_REJECTED' // the command is valid for the role but cannot be carried out now
  | 'CLUSTER_INVALID_FRAME' // encodeHeartbeat got a heartbeat with a field out of range
  | 'CLUSTER_INVALID_KEY'; // the cluster key is missing or too short

const templates: { [C in ClusterErrorCode]: (detail: string) => string } = {
  CLUSTER_INVALID_CONFIG: (d) => `invalid cluster configuration: ${d}`,
  CLUSTER_INVALID_EVENT: (d) => `invalid cluster event: ${d}`,
  CLUSTER_TIME_BACKWARDS: (d) => `time went backwards: ${d}`,
  CLUSTER_IMPOSSIBLE_EVENT: (d) => `impossible event: ${d}`,
  CLUSTER_COMMAND_REJECTED: (d) => `command rejected: ${d}`,
  CLUSTER_INVALID_FRAME: (d) => `cannot encode heartbeat: ${d}`,
  CLUSTER_INVALID_KEY: (d) => `invalid cluster key: ${d}`,
};

export class ClusterError extends FirmwareError<ClusterErrorCode> {
  override readonly name: string = 'ClusterError';

  constructor(code: ClusterErrorCode, detail: string, options: { cause?: unknown } = {}) {
    super(code, templates[code](detail), options);
  }

  static is(err: unknown, code?: ClusterErrorCode): err is ClusterError {
    return err instanceof ClusterError && (code === undefined || err.code === code);
  }
}

/** A configuration field with a bad value: names the field and shows what arrived. */
export class ConfigError extends ClusterError {
  override readonly name = 'ConfigError';
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, expected: string, value: unknown) {
    super('CLUSTER_INVALID_CONFIG', `${field} should be ${expected}, instead got ${show(value)}`);
    this.field = field;
    this.value = value;
  }
}

/** An event the current role has no transition for (h11's LocalProtocolError): names role and event. */
export class ImpossibleEventError extends ClusterError {
  override readonly name = 'ImpossibleEventError';
  readonly role: string;
  readonly event: string;

  constructor(role: string, event: string, why: string) {
    super('CLUSTER_IMPOSSIBLE_EVENT', `${event} in role ${role}: ${why}`);
    this.role = role;
    this.event = event;
  }
}

/** An operator command the role allows but the situation forbids (e.g. failover with no standby). */
export class CommandRejectedError extends ClusterError {
  override readonly name = 'CommandRejectedError';
  readonly command: string;
  readonly role: string;

  constructor(command: string, role: string, why: string) {
    super('CLUSTER_COMMAND_REJECTED', `${command} in role ${role}: ${why}`);
    this.command = command;
    this.role = role;
  }
}

export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value === undefined || typeof value === 'number' || typeof value === 'boolean') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
