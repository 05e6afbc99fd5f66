/**
 * `conntrack -L` output and the option checks both drivers share (pure), so they accept and refuse the
 * same things with the same words.
 */
import { isIPv6, SocketAddress } from 'node:net';
import { HalError } from '../errors.ts';
import type { FlowTuple, ListOptions, TcpState, TrackedFlow, TrackedProtocol } from './types.ts';

const PROTOCOLS: readonly TrackedProtocol[] = [
  'tcp',
  'udp',
  'sctp',
  'icmp',
  'icmpv6',
  'dccp',
  'udplite',
  'gre',
];
const FILTER_PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
export const TCP_STATES: readonly TcpState[] = [
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'TIME_WAIT',
  'CLOSE',
  'SYN_SENT2',
];

const canonical = (text: string): string =>
  isIPv6(text) ? new SocketAddress({ address: text, family: 'ipv6' }).address : text;

/** One line of `conntrack -L` output, or undefined for a line that is not a flow. */
export function parseConntrackLine(line: string): TrackedFlow | undefined {
  const words = line.trim().split(/\s+/);
  const protocol = PROTOCOLS.find((p) => p === words[0]);
  if (protocol === undefined) return undefined;
  const state = words.find((w) => /^[A-Z][A-Z_0-9]{3,}$/.test(w));
  const tuples: Record<string, string>[] = [];
  let mark = 0;
  for (const w of words) {
    const m = /^(src|dst|sport|dport|mark)=(.+)$/.exec(w);
    if (m === null) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'mark') {
      mark = Number(value);
      continue;
    }
    let current = tuples[tuples.length - 1];
    if (current === undefined || key in current) {
      current = {};
      tuples.push(current);
    }
    current[key] = value;
  }
  const [o, r] = tuples;
  if (o === undefined || r === undefined || o.src === undefined || r.src === undefined) return undefined;
  const tuple = (t: Record<string, string>): FlowTuple => ({
    src: canonical(t.src ?? ''),
    dst: canonical(t.dst ?? ''),
    sport: Number(t.sport ?? 0),
    dport: Number(t.dport ?? 0),
  });
  return { protocol, state, original: tuple(o), reply: tuple(r), mark: Number.isFinite(mark) ? mark : 0 };
}

/** Checks list() options; returns the filter they mean. */
export function checkListOptions(
  options: ListOptions,
  device: string,
): { protocol: 'tcp' | 'udp' | 'sctp' | undefined; state: TcpState | undefined } {
  const { protocol, state } = options;
  if (protocol !== undefined && !FILTER_PROTOCOLS.includes(protocol)) {
    throw new HalError(
      'HAL_INVALID_ARGUMENT',
      `protocol must be one of ${FILTER_PROTOCOLS.join(', ')}, got ${JSON.stringify(protocol)}`,
      { device },
    );
  }
  if (state !== undefined && !TCP_STATES.includes(state)) {
    throw new HalError(
      'HAL_INVALID_ARGUMENT',
      `state must be a TCP state (${TCP_STATES.join(', ')}), got ${JSON.stringify(state)}`,
      { device },
    );
  }
  if (state !== undefined && protocol !== undefined && protocol !== 'tcp') {
    throw new HalError('HAL_INVALID_ARGUMENT', `state ${state} is a TCP state, but protocol is ${protocol}`, {
      device,
    });
  }
  return { protocol: state !== undefined ? 'tcp' : protocol, state };
}

/** Whether `flow` passes the filter. */
export function matches(
  flow: TrackedFlow,
  filter: { protocol: string | undefined; state: string | undefined },
): boolean {
  return (
    (filter.protocol === undefined || flow.protocol === filter.protocol) &&
    (filter.state === undefined || flow.state === filter.state)
  );
}
