import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TestNetns } from '../../board/sim/testbed/netns.ts';
import { IpvsForwardingPlane } from '../../firmware/forward/ipvs/plane.ts';
import { diffRules, ipvsRules, parseSaved, parseStats } from '../../firmware/forward/ipvs/rules.ts';
import { parseDesired } from '../../firmware/forward/model.ts';
import { kernelHas } from '../support/needs.ts';
import { desired, dr, nat } from './support.ts';

const rules = suite('IPVS rules from the model (pure)');

rules('services and real servers in ipvsadm-restore syntax; drain is weight 0, down is absent', () => {
  const d = parseDesired(
    desired([
      dr('web', 80, 0, {
        scheduler: 'wlc',
        servers: [
          { address: '198.51.100.11', weight: 3 },
          { address: '198.51.100.12', state: 'drain' },
          { address: '198.51.100.13', state: 'down' },
        ],
      }),
      nat('app6', 443, 0, {
        vip: '2001:db8::100',
        persistence: 300,
        servers: [{ address: '2001:db8:1::11', port: 8443 }],
      }),
    ]),
  );
  const r = ipvsRules(d);
  assert.equal(
    [...r.services.values()],
    ['-A -t 192.0.2.100:80 -s wlc', '-A -t [2001:db8::100]:443 -s mh -p 300'],
  );
  assert.equal(
    [...r.reals.values()],
    [
      '-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 3',
      '-a -t 192.0.2.100:80 -r 198.51.100.12:80 -g -w 0',
      '-a -t [2001:db8::100]:443 -r [2001:db8:1::11]:8443 -m -w 1',
    ],
  );
});

rules('an all-ports service needs persistence under IPVS', () => {
  const d = parseDesired(desired([dr('all', 0, 1, { port: undefined })]));
  assert.throws(
    () => ipvsRules(d),
    (e: Error) => (e as { code?: string }).code === 'FORWARD_UNSUPPORTED',
  );
});

rules(
  'the diff deletes, adds and edits only what changed; reading back ipvsadm -S gives the same rules',
  () => {
    const before = ipvsRules(parseDesired(desired([dr('web', 80, 3), nat('old', 81, 1)])));
    const after = ipvsRules(
      parseDesired(
        desired([
          dr('web', 80, 0, {
            scheduler: 'rr',
            servers: [
              { address: '198.51.100.11' },
              { address: '198.51.100.12', weight: 5 },
              { address: '198.51.100.14' },
            ],
          }),
        ]),
      ),
    );
    assert.equal(diffRules(before, after), [
      '-D -t 192.0.2.100:81',
      '-d -t 192.0.2.100:80 -r 198.51.100.13:80',
      '-E -t 192.0.2.100:80 -s rr',
      '-e -t 192.0.2.100:80 -r 198.51.100.12:80 -g -w 5',
      '-a -t 192.0.2.100:80 -r 198.51.100.14:80 -g -w 1',
    ]);
    const saved =
      '-A -t 192.0.2.100:80 -s mh\n-a -t 192.0.2.100:80 -r 198.51.100.11:80 -g -w 1\n-a -t 192.0.2.100:80 -r 198.51.100.12:80 -g -w 1\n-a -t 192.0.2.100:80 -r 198.51.100.13:80 -g -w 1\n';
    assert.equal(diffRules(parseSaved(saved), ipvsRules(parseDesired(desired([dr('web', 80, 3)])))), []);
  },
);

rules('stats rows per service and real server', () => {
  const text = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  192.0.2.100:80                     10      100        0     6000        0
  -> 198.51.100.11:80                    4       40        0     2400        0
  -> 198.51.100.12:80                    6       60        0     3600        0
`;
  const rows = parseStats(text);
  assert.is(rows.length, 3);
  assert.equal(rows[2], {
    service: '-t 192.0.2.100:80',
    real: '198.51.100.12:80',
    conns: 6,
    inPkts: 60,
    outPkts: 0,
    inBytes: 3600,
    outBytes: 0,
  });
});

rules.run();

// ---

if (kernelHas('ipvs', ['/proc/net/ip_vs'])) {
  const nets = new TestNetns();
  const kernel = suite('IPVS in a namespace');
  kernel.after(async () => {
    await nets.cleanup();
  });
  kernel('apply, change and read back through ipvsadm', async () => {
    const ns = await nets.add('ipvs');
    const plane = new IpvsForwardingPlane({ netns: ns });
    await plane.apply(parseDesired(desired([dr('web', 80, 3), nat('app', 8080, 2)])));
    const r = await plane.apply(parseDesired(desired([dr('web', 80, 2)])));
    assert.is(r.commands, 2);
    const again = await plane.apply(parseDesired(desired([dr('web', 80, 2)])));
    assert.is(again.commands, 0);
    const c = await plane.counters();
    assert.is(c.services[0]?.servers.length, 2);
  });
  kernel.run();
}
