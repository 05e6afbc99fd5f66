import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConntrackLine } from '../../../hal/conntrack/parse.ts';
import { SimConntrack } from '../../../hal/conntrack/sim.ts';
import { conntrackContract } from './contract.ts';

conntrackContract('sim', async () => {
  const tracker = new SimConntrack();
  return { tracker, add: async (flow) => tracker.track(flow), dispose: () => tracker.close() };
});

const parse = suite('conntrack -L lines');

parse('original and reply tuples, protocol, state and mark; other lines are not flows', () => {
  const line =
    'tcp      6 431999 ESTABLISHED src=192.0.2.10 dst=192.0.2.100 sport=40000 dport=8080 src=198.51.100.12 dst=192.0.2.10 sport=8080 dport=40000 [ASSURED] mark=65537 use=1';
  assert.equal(parseConntrackLine(line), {
    protocol: 'tcp',
    state: 'ESTABLISHED',
    original: { src: '192.0.2.10', dst: '192.0.2.100', sport: 40000, dport: 8080 },
    reply: { src: '198.51.100.12', dst: '192.0.2.10', sport: 8080, dport: 40000 },
    mark: 65537,
  });
  const v6 =
    'udp      17 119 src=2001:db8:0::1 dst=2001:db8::2 sport=53 dport=5353 [UNREPLIED] src=2001:db8::2 dst=2001:db8::1 sport=5353 dport=53 mark=0 use=1';
  assert.equal(parseConntrackLine(v6)?.state, undefined);
  assert.equal(parseConntrackLine(v6)?.original.src, '2001:db8::1');
  assert.is(
    parseConntrackLine('conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.'),
    undefined,
  );
  assert.is(parseConntrackLine(''), undefined);
});

parse.run();
