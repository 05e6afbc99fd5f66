import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { countActive, parseConntrackLine } from '../../firmware/forward/conntrack.ts';
import { parseDesired } from '../../firmware/forward/model.ts';
import { desired, dr, nat } from './support.ts';

const parse = suite('conntrack -L lines');

const LINE =
  'tcp      6 431999 ESTABLISHED src=192.0.2.10 dst=192.0.2.100 sport=40000 dport=8080 src=198.51.100.12 dst=192.0.2.10 sport=8080 dport=40000 [ASSURED] mark=65537 use=1';

parse('original and reply tuples, protocol and state', () => {
  const f = parseConntrackLine(LINE);
  assert.equal(f, {
    protocol: 'tcp',
    state: 'ESTABLISHED',
    original: { src: '192.0.2.10', dst: '192.0.2.100', sport: 40000, dport: 8080 },
    reply: { src: '198.51.100.12', dst: '192.0.2.10', sport: 8080, dport: 40000 },
  });
  assert.is(
    parseConntrackLine('conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.'),
    undefined,
  );
});

parse('established flows counted per NAT service and real server', () => {
  const d = parseDesired(desired([nat('app', 8080, 3), dr('web', 80, 3)]));
  const other = LINE.replace('dport=8080 src', 'dport=9999 src');
  const closing = LINE.replace('ESTABLISHED', 'TIME_WAIT');
  const flows = [LINE, LINE, other, closing].map((l) => parseConntrackLine(l)).filter((f) => f !== undefined);
  const active = countActive(d, flows);
  assert.equal([...active.keys()], ['app']);
  assert.equal([...(active.get('app') ?? new Map())], [['198.51.100.12 8080', 2]]);
});

parse.run();
