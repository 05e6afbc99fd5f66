import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ForwardError } from '../../firmware/forward/errors.ts';
import { DEFAULT_HASH_SEED, DEFAULT_SLOTS, parseDesired } from '../../firmware/forward/model.ts';

const web = {
  name: 'web',
  vip: '192.0.2.100',
  protocol: 'tcp',
  port: 80,
  method: 'dr',
  servers: [{ address: '198.51.100.11' }, { address: '198.51.100.12', weight: 3 }],
};

/** Asserts parseDesired throws FORWARD_INVALID_CONFIG with `field` and a message matching `text`. */
function refuses(input: unknown, field: string, text: RegExp): void {
  try {
    parseDesired(input);
  } catch (err) {
    assert.instance(err, ForwardError);
    const e = err as ForwardError;
    assert.is(e.code, 'FORWARD_INVALID_CONFIG');
    assert.is(e.field, field, e.message);
    assert.match(e.message, text);
    return;
  }
  assert.unreachable(`expected ${field} to be refused`);
}

const valid = suite('parseDesired: valid definitions');

valid('fills in defaults', () => {
  const d = parseDesired({ services: [web] });
  assert.is(d.hashSeed, DEFAULT_HASH_SEED);
  const s = d.services[0];
  assert.is(s?.scheduler, 'mh');
  assert.is(s?.slots, DEFAULT_SLOTS);
  assert.is(s?.persistence, 0);
  assert.is(s?.family, 4);
  assert.equal(s?.servers[0], { address: '198.51.100.11', port: undefined, weight: 1, state: 'up' });
  assert.is(s?.servers[1]?.weight, 3);
});

valid('IPv6 addresses are canonical, so equal addresses compare equal', () => {
  const d = parseDesired({
    services: [
      {
        name: 'web6',
        vip: '2001:DB8:0:0::100',
        protocol: 'tcp',
        port: 443,
        method: 'nat',
        servers: [{ address: '2001:db8:1:0:0:0:0:11', port: 8443 }],
      },
    ],
  });
  assert.is(d.services[0]?.vip, '2001:db8::100');
  assert.is(d.services[0]?.family, 6);
  assert.equal(d.services[0]?.servers[0]?.address, '2001:db8:1::11');
  assert.is(d.services[0]?.servers[0]?.port, 8443);
});

valid('an all-ports service, and the same VIP with another protocol', () => {
  const d = parseDesired({
    services: [
      {
        name: 'all',
        vip: '192.0.2.100',
        protocol: 'udp',
        method: 'dr',
        servers: [{ address: '198.51.100.11' }],
      },
      web,
    ],
  });
  assert.is(d.services[0]?.port, undefined);
  assert.is(d.services.length, 2);
});

valid('a NAT server port equal to the service port is stored as "same port"', () => {
  const d = parseDesired({
    services: [{ ...web, method: 'nat', servers: [{ address: '198.51.100.11', port: 80 }] }],
  });
  assert.is(d.services[0]?.servers[0]?.port, undefined);
});

valid('every scheduler name is accepted', () => {
  for (const scheduler of ['rr', 'wrr', 'lc', 'wlc', 'sh', 'mh']) {
    assert.is(parseDesired({ services: [{ ...web, scheduler }] }).services[0]?.scheduler, scheduler);
  }
});

valid.run();

// ---

const bad = suite('parseDesired: bad definitions name the field and the value');

bad('bad address', () => {
  refuses(
    { services: [{ ...web, vip: '192.0.2.300' }] },
    'services.0.vip',
    /not an IPv4 or IPv6 address, got "192.0.2.300"/,
  );
  refuses(
    { services: [{ ...web, servers: [{ address: 'rs1.example' }] }] },
    'services.0.servers.0.address',
    /got "rs1.example"/,
  );
});

bad('port 0 and port 65536', () => {
  refuses({ services: [{ ...web, port: 0 }] }, 'services.0.port', /1 to 65535, got 0/);
  refuses({ services: [{ ...web, port: 65536 }] }, 'services.0.port', /1 to 65535, got 65536/);
  refuses(
    { services: [{ ...web, method: 'nat', servers: [{ address: '198.51.100.11', port: 65536 }] }] },
    'services.0.servers.0.port',
    /got 65536/,
  );
});

bad('duplicate service (same VIP, protocol and port), duplicate name, overlap with all ports', () => {
  refuses({ services: [web, { ...web, name: 'web2' }] }, 'services.1', /duplicates or overlaps services.0/);
  refuses(
    { services: [web, { ...web, port: 81 }] },
    'services.1.name',
    /duplicates services.0.name, got "web"/,
  );
  refuses(
    { services: [web, { ...web, name: 'all', port: undefined }] },
    'services.1',
    /overlaps services.0 \(tcp 192.0.2.100 port all\)/,
  );
});

bad('negative weight', () => {
  refuses(
    { services: [{ ...web, servers: [{ address: '198.51.100.11', weight: -1 }] }] },
    'services.0.servers.0.weight',
    /must not be negative, got -1/,
  );
});

bad('unknown scheduler', () => {
  refuses(
    { services: [{ ...web, scheduler: 'fastest' }] },
    'services.0.scheduler',
    /must be one of rr, wrr.*got "fastest"/,
  );
});

bad('mixed address families, DR port change, Maglev table not prime', () => {
  refuses(
    { services: [{ ...web, servers: [{ address: '2001:db8::11' }] }] },
    'services.0.servers.0.address',
    /must be IPv4 like the VIP/,
  );
  refuses(
    { services: [{ ...web, servers: [{ address: '198.51.100.11', port: 8080 }] }] },
    'services.0.servers.0.port',
    /DR cannot change ports/,
  );
  refuses({ services: [{ ...web, slots: 65536 }] }, 'services.0.slots', /prime.*got 65536/);
});

bad('duplicate real server, unknown field, not a list', () => {
  refuses(
    { services: [{ ...web, servers: [{ address: '198.51.100.11' }, { address: '198.51.100.11' }] }] },
    'services.0.servers.1',
    /duplicates services.0.servers.0/,
  );
  refuses({ services: [{ ...web, colour: 'blue' }] }, 'services.0', /colour/);
  refuses({ services: 'web' }, 'services', /must be a list of virtual services/);
});

bad.run();
