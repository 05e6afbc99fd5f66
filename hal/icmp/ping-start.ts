/**
 * How both pingers start a ping: the checks in the order they refuse (closed, aborted, address, options),
 * then the pinger's own send. Whatever is thrown on the way comes back as a rejection.
 */
import { abortError, HalError } from '../errors.ts';
import { checkOptions, parseTarget, type Target } from './target.ts';
import type { PingOptions, PingReply } from './types.ts';

export interface CheckedPing {
  target: Target;
  timeoutMs: number;
  payloadBytes: number;
  signal: AbortSignal | undefined;
}

export function startPing(
  closed: boolean,
  address: string,
  options: PingOptions,
  send: (ping: CheckedPing) => Promise<PingReply>,
): Promise<PingReply> {
  try {
    if (closed) {
      throw new HalError('HAL_CLOSED', `cannot ping ${address}: the pinger is closed`, { device: 'icmp' });
    }
    if (options?.signal?.aborted) throw abortError(options.signal, `icmp:${address}`);
    const target = parseTarget(address);
    const { timeoutMs, payloadBytes } = checkOptions(address, options);
    return send({ target, timeoutMs, payloadBytes, signal: options.signal });
  } catch (err) {
    return Promise.reject(err);
  }
}
