import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { countActive, TrackerConnectionReader } from '../../firmware/forward/connections.ts';
import { parseDesired } from '../../firmware/forward/model.ts';
import { SimConntrack } from '../../hal/conntrack/sim.ts';
import type { TrackedFlow } from '../../hal/conntrack/types.ts';
import { rejects } from '../support/assert.ts';
import { desired, dr, nat } from './support.ts';

const FLOW: TrackedFlow = {
  protocol: 'tcp',
  state: 'ESTABLISHED',
  original: { src: '192.0.2.10', dst: '192.0.2.100', sport: 40000, dport: 8080 },
  reply: { src: '198.51.100.12', dst: '192.0.2.10', sport: 8080, dport: 40000 },
  mark: 65537,
};

const count = suite('open connections per NAT real server, from the conntrack driver');

count('established flows counted per NAT service and real server', () => {
  const d = parseDesired(desired([nat('app', 8080, 3), dr('web', 80, 3)]));
  const other = { ...FLOW, original: { ...FLOW.original, dport: 9999 } };
  const closing = { ...FLOW, state: 'TIME_WAIT' };
  const active = countActive(d, [FLOW, FLOW, other, closing]);
  assert.equal([...active.keys()], ['app']);
  assert.equal([...(active.get('app') ?? new Map())], [['198.51.100.12 8080', 2]]);
});

count('the reader asks the driver for established flows only; its faults are FORWARD_IO', async () => {
  const d = parseDesired(desired([nat('app', 8080, 3)]));
  const tracker = new SimConntrack();
  tracker.track(FLOW);
  tracker.track({ ...FLOW, state: 'TIME_WAIT', original: { ...FLOW.original, sport: 40001 } });
  const reader = new TrackerConnectionReader(tracker);
  assert.equal(
    [...((await reader.activeConnections(d)).get('app') ?? new Map())],
    [['198.51.100.12 8080', 1]],
  );
  await tracker.close();
  await rejects(reader.activeConnections(d), (e) => (e as { code?: string }).code === 'FORWARD_IO');
});

count.run();
