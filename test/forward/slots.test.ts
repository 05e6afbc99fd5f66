import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDesired, serverKey, type VirtualService } from '../../firmware/forward/model.ts';
import { BaseTables, packedSlots } from '../../firmware/forward/nft/slots.ts';
import { desired, dr } from './support.ts';

const svc = (states: string[], slots = 65537): VirtualService =>
  parseDesired(
    desired([
      dr('web', 80, 0, {
        slots,
        servers: states.map((state, i) => ({ address: `198.51.100.${11 + i}`, state: state as 'up' })),
      }),
    ]),
  ).services[0] as VirtualService;
const indexes = (s: VirtualService): Map<string, number> =>
  new Map(s.servers.map((r, i) => [serverKey(s, r), i]));
const base = (v: number): number => v & 0x7fff;
const fallback = (v: number): number => ((v >> 15) & 0x7fff) - 1;

const slots = suite('packed slot values: base server and fallback');

slots('one server going down, draining or back up changes no slot value', () => {
  const up = svc(['up', 'up', 'up', 'up']);
  const cache = new BaseTables();
  const before = packedSlots(up, indexes(up), undefined, cache);
  for (const state of ['down', 'drain']) {
    const out = svc(['up', state, 'up', 'up']);
    assert.equal(packedSlots(out, indexes(out), undefined, cache), before);
  }
});

slots('a server that is out spreads its slots over the others in proportion; never onto one out', () => {
  const out = svc(['up', 'down', 'up', 'drain', 'up']);
  const values = packedSlots(out, indexes(out));
  const share = new Map<number, number>();
  let own = 0;
  for (const v of values) {
    if (base(v) !== 1 && base(v) !== 3) continue;
    own += 1;
    const f = fallback(v);
    assert.ok(f === 0 || f === 2 || f === 4, `fallback ${f}`);
    share.set(f, (share.get(f) ?? 0) + 1);
  }
  assert.ok(own > 0.35 * 65537 && own < 0.45 * 65537, String(own));
  for (const f of [0, 2, 4]) {
    const got = (share.get(f) ?? 0) / own;
    assert.ok(Math.abs(got - 1 / 3) < 0.03, `server ${f} takes ${got.toFixed(3)} of the moved slots`);
  }
});

slots('no fallback when no server takes new flows, or there is only one', () => {
  for (const states of [['down', 'drain'], ['down']]) {
    const s = svc(states, 251);
    assert.ok(packedSlots(s, indexes(s)).every((v) => fallback(v) === -1));
  }
  const none = parseDesired(desired([dr('web', 80, 0, { slots: 7 })])).services[0] as VirtualService;
  assert.ok(packedSlots(none, new Map()).every((v) => v === -1));
});

slots.run();
