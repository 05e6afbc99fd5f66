/** ICMP echo through the Pinger driver (one raw socket shared by every probe of the process). */
import { z } from 'zod';
import { HalError } from '../../../hal/errors.ts';
import { Stopwatch } from './net-util.ts';
import { errorText, parseWith, sameSpec } from './spec.ts';
import type { CheckKind } from './types.ts';

const schema = z.strictObject({
  /** Echo data bytes, as ping -s. */
  payloadBytes: z.number().int().min(0).max(65000).default(56),
  /** Fail when the round trip is slower than this, in ms. */
  maxRttMs: z.number().positive().optional(),
});

export type IcmpSpec = z.output<typeof schema>;

export const icmp: CheckKind<IcmpSpec> = {
  kind: 'icmp',
  parse: (spec) => parseWith(schema, spec),
  sameConfig: sameSpec,
  async run(target, spec, { signal, timeoutMs, drivers }) {
    const watch = new Stopwatch(drivers.clock);
    try {
      const reply = await drivers.pinger.ping(target.address, {
        timeoutMs,
        signal,
        payloadBytes: spec.payloadBytes,
      });
      if (spec.maxRttMs !== undefined && reply.rttMs > spec.maxRttMs) {
        return watch.fail(
          `echo reply from ${target.address} took ${reply.rttMs.toFixed(1)} ms, over maxRttMs ${spec.maxRttMs}`,
        );
      }
      return watch.ok(`rtt ${reply.rttMs.toFixed(2)} ms`);
    } catch (err) {
      if (HalError.is(err, 'HAL_TIMEOUT') || HalError.is(err, 'HAL_CANCELED')) {
        return watch.fail(`no echo reply from ${target.address} within ${timeoutMs} ms`);
      }
      return watch.fail(`ping ${target.address}: ${errorText(err)}`);
    }
  },
};
