import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../../../board/sim/testbed/exec.ts';
import { addVeth, deleteNetns, netnsExec, TestNetns } from '../../../board/sim/testbed/netns.ts';
import { HalError } from '../../../hal/errors.ts';
import { LinuxNet } from '../../../hal/net/linux.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { canRun } from '../../support/needs.ts';
import { type NetHarness, netContract } from './contract.ts';
import { captureArp } from './tcpdump.ts';

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function within<T>(p: Promise<T>, limitMs = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not settled after ${limitMs} ms`)), limitMs);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** PIDs of processes inside `ns`. */
async function pidsIn(ns: string): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'pids', ns], { allowFail: true });
  return stdout.split(/\s+/).filter(Boolean);
}

async function until(what: string, check: () => Promise<boolean>, limitMs = 3000): Promise<void> {
  for (let waited = 0; !(await check()); waited += 25) {
    if (waited >= limitMs) assert.unreachable(`${what}: still not true after ${limitMs} ms`);
    await realSleep(25);
  }
}

interface Lan {
  ns: { a: string; b: string; client: string };
  harness: NetHarness;
  linux: { a: LinuxNet; b: LinuxNet; client: LinuxNet };
}

if (canRun('net in namespaces', { root: true, tools: ['ip', 'arping', 'tcpdump', 'ping'] })) {
  const nets = new TestNetns();
  let made = 0;

  /**
   * Directors a (tnda0) and b (tndb0) and a client whose link is the bridge tndbr0: a's and b's veths end
   * in the client's namespace as bridge ports tndpa and tndpb (cutting a's cable = tndpa down).
   */
  const makeLan = async (): Promise<Lan> => {
    const k = made++;
    const ns = { a: await nets.add(`a${k}`), b: await nets.add(`b${k}`), client: await nets.add(`c${k}`) };
    const ipIn = (n: string, ...args: string[]) => run(['ip', '-n', n, ...args]);
    await addVeth({ ns: ns.a, ifname: 'tnda0' }, { ns: ns.client, ifname: 'tndpa' });
    await addVeth({ ns: ns.b, ifname: 'tndb0' }, { ns: ns.client, ifname: 'tndpb' });
    await ipIn(ns.client, 'link', 'add', 'tndbr0', 'type', 'bridge');
    for (const port of ['tndpa', 'tndpb'])
      await ipIn(ns.client, 'link', 'set', port, 'master', 'tndbr0', 'up');
    await ipIn(ns.client, 'addr', 'add', '10.77.0.100/24', 'dev', 'tndbr0');
    await ipIn(ns.client, 'link', 'set', 'tndbr0', 'up');
    await ipIn(ns.a, 'addr', 'add', '10.77.0.1/24', 'dev', 'tnda0');
    await ipIn(ns.a, 'link', 'set', 'tnda0', 'up');
    await ipIn(ns.b, 'addr', 'add', '10.77.0.2/24', 'dev', 'tndb0');
    await ipIn(ns.b, 'link', 'set', 'tndb0', 'up');
    const drivers = {
      a: new LinuxNet({ netns: ns.a }),
      b: new LinuxNet({ netns: ns.b }),
      client: new LinuxNet({ netns: ns.client }),
    };
    const links = { a: 'tnda0', b: 'tndb0', client: 'tndbr0' };
    await until('the LAN has carrier', async () => {
      for (const host of ['a', 'b', 'client'] as const) {
        const l = (await drivers[host].links()).find((x) => x.name === links[host]);
        if (l?.operState !== 'up') return false;
      }
      return true;
    });
    const harness: NetHarness = {
      drivers,
      links,
      resolveFrom: async (host, ip) => {
        await netnsExec(ns[host], ['ping', '-c', '1', '-W', '1', ip], { allowFail: true });
      },
      cut: async () => {
        await ipIn(ns.client, 'link', 'set', 'tndpa', 'down');
      },
      restore: async () => {
        await ipIn(ns.client, 'link', 'set', 'tndpa', 'up');
      },
      settle: (p, limitMs) => within(p, limitMs),
      wait: realSleep,
      close: async () => {
        await Promise.all([drivers.a.close(), drivers.b.close(), drivers.client.close()]);
        for (const n of [ns.a, ns.b, ns.client]) await deleteNetns(n);
      },
    };
    return { ns, harness, linux: drivers };
  };

  netContract('linux', async () => (await makeLan()).harness);

  // ---

  const wire = suite<{ lan: Lan }>('linux: gratuitous ARP on the wire', {} as { lan: Lan });
  wire.before(async (ctx) => {
    ctx.lan = await makeLan();
  });
  wire.after(async (ctx) => {
    await ctx.lan?.harness.close();
  });

  const bothForms = async (lan: Lan, a: LinuxNet, vip: string): Promise<void> => {
    await a.addAddress('tnda0', `${vip}/24`);
    const mac = (await a.links()).find((l) => l.name === 'tnda0')?.mac ?? '';
    const cap = captureArp(lan.ns.client, 'tndbr0', `arp and host ${vip}`, 4, 8000);
    await within(cap.ready, 5000);
    assert.equal(await within(a.announce('tnda0', vip, { form: 'request', count: 3, intervalMs: 300 })), {
      sent: 3,
    });
    assert.equal(await within(a.announce('tnda0', vip, { form: 'reply', count: 1 })), { sent: 1 });
    const frames = await within(cap.frames, 9000);
    assert.equal(
      frames.map((f) => [f.ethSrc, f.ethDst, f.arp]),
      [
        ...Array.from({ length: 3 }, () => [
          mac,
          'ff:ff:ff:ff:ff:ff',
          `Request who-has ${vip} (ff:ff:ff:ff:ff:ff) tell ${vip}`,
        ]),
        [mac, 'ff:ff:ff:ff:ff:ff', `Reply ${vip} is-at ${mac}`],
      ],
    );
    const gaps = [1, 2].map((i) => ((frames[i]?.time ?? 0) - (frames[i - 1]?.time ?? 0)) * 1000);
    for (const gap of gaps) assert.ok(gap > 200 && gap < 500, `frames ${gap.toFixed(0)} ms apart, not ~300`);
    await a.removeAddress('tnda0', `${vip}/24`);
  };

  wire('the helper: tcpdump on the client sees both forms, on time, from the new owner', async ({ lan }) => {
    const { a } = lan.linux;
    await bothForms(lan, a, '10.77.0.64');
    assert.is(a.garpSender.sender, 'helper');
  });

  wire('arping (the fall-back) sends the very same frames', async ({ lan }) => {
    const a = new LinuxNet({ netns: lan.ns.a, garpSender: 'arping' });
    try {
      await bothForms(lan, a, '10.77.0.65');
      assert.equal(a.garpSender, { sender: 'arping', pid: undefined });
    } finally {
      await a.close();
    }
  });

  wire('an aborted burst leaves no arping behind', async ({ lan }) => {
    const a = new LinuxNet({ netns: lan.ns.a, garpSender: 'arping' });
    const before = (await pidsIn(lan.ns.a)).length;
    const ac = new AbortController();
    const burst = a.announce('tnda0', '10.77.0.1', { count: 10, intervalMs: 200, signal: ac.signal });
    await realSleep(300);
    assert.ok((await pidsIn(lan.ns.a)).length > before, 'arping runs in the namespace');
    ac.abort();
    await rejects(within(burst), withCode('HAL_CANCELED'));
    await until('arping gone', async () => (await pidsIn(lan.ns.a)).length === before);
    await a.close();
  });

  wire.run();

  // ---

  const helper = suite<{ lan: Lan }>('linux: the gratuitous-ARP helper', {} as { lan: Lan });
  helper.before(async (ctx) => {
    ctx.lan = await makeLan();
  });
  helper.after(async (ctx) => {
    await ctx.lan?.harness.close();
  });

  const firstFrame = async (lan: Lan, net: LinuxNet, ip: string): Promise<number> => {
    const cap = captureArp(lan.ns.client, 'tndbr0', `arp and host ${ip}`, 1, 5000);
    await within(cap.ready, 5000);
    assert.equal(await within(net.announce('tnda0', ip)), { sent: 1 });
    return (await within(cap.frames, 6000)).length;
  };

  helper('reading addresses starts it; it serves every burst; close() leaves no process', async ({ lan }) => {
    const net = new LinuxNet({ netns: lan.ns.a });
    const before = await pidsIn(lan.ns.a);
    await net.addresses('tnda0');
    await until('helper started', async () => (await pidsIn(lan.ns.a)).length === before.length + 1);
    const pid = net.garpSender.pid;
    assert.ok(pid !== undefined && (await pidsIn(lan.ns.a)).includes(String(pid)));
    assert.is(await firstFrame(lan, net, '10.77.0.1'), 1);
    const bursts = await within(
      Promise.all(
        (['request', 'reply'] as const).map((form) =>
          net.announce('tnda0', '10.77.0.1', { form, count: 3, intervalMs: 10 }),
        ),
      ),
    );
    assert.equal(bursts, [{ sent: 3 }, { sent: 3 }]);
    assert.is(net.garpSender.pid, pid, 'one helper for every burst');
    await net.close();
    assert.equal(await pidsIn(lan.ns.a), before);
    assert.is(net.garpSender.pid, undefined);
  });

  helper('a killed helper is started again by the next call', async ({ lan }) => {
    const net = new LinuxNet({ netns: lan.ns.a });
    try {
      assert.is(await firstFrame(lan, net, '10.77.0.1'), 1);
      const first = net.garpSender.pid;
      assert.ok(first !== undefined);
      process.kill(first, 'SIGKILL');
      await until('helper gone', async () => !(await pidsIn(lan.ns.a)).includes(String(first)));
      assert.is(await firstFrame(lan, net, '10.77.0.1'), 1);
      const second = net.garpSender.pid;
      assert.ok(second !== undefined && second !== first, `pid ${second} after ${first}`);
    } finally {
      await net.close();
    }
  });

  helper('a link that is not there is HAL_NOT_FOUND naming it; the helper stays', async ({ lan }) => {
    const net = new LinuxNet({ netns: lan.ns.a });
    try {
      await net.addresses();
      const names = (e: unknown) => HalError.is(e, 'HAL_NOT_FOUND') && e.message.includes('tndgone0');
      await rejects(net.announce('tndgone0', '10.77.0.1'), names);
      assert.is(net.garpSender.sender, 'helper');
      assert.is(await firstFrame(lan, net, '10.77.0.1'), 1);
    } finally {
      await net.close();
    }
  });

  helper('an aborted burst stops; the helper stays until close()', async ({ lan }) => {
    const net = new LinuxNet({ netns: lan.ns.a });
    const before = await pidsIn(lan.ns.a);
    const ac = new AbortController();
    const burst = net.announce('tnda0', '10.77.0.1', { count: 10, intervalMs: 200, signal: ac.signal });
    await realSleep(300);
    ac.abort();
    await rejects(within(burst), withCode('HAL_CANCELED'));
    // The helper is still there (other processes may come and go in the namespace meanwhile).
    const helperPid = net.garpSender.pid;
    assert.ok(helperPid !== undefined && (await pidsIn(lan.ns.a)).includes(String(helperPid)));
    await net.close();
    assert.equal(await pidsIn(lan.ns.a), before);
  });

  helper('without python3 it falls back to arping, with one warning', async ({ lan }) => {
    const warnings: string[] = [];
    const net = new LinuxNet({
      netns: lan.ns.a,
      python: 'tnd-no-python3',
      warn: (m) => warnings.push(m),
    });
    try {
      await net.addresses();
      assert.is(await firstFrame(lan, net, '10.77.0.1'), 1);
      assert.is(await firstFrame(lan, net, '10.77.0.1'), 1);
      assert.is(net.garpSender.sender, 'arping');
      assert.is(warnings.length, 1, warnings.join(' | '));
      assert.match(warnings[0] ?? '', /falls back to arping.*tnd-no-python3/);
    } finally {
      await net.close();
    }
  });

  helper.run();

  // ---

  const owned = suite<{ lan: Lan }>('linux: the monitor child and namespaces', {} as { lan: Lan });
  owned.before(async (ctx) => {
    ctx.lan = await makeLan();
  });
  owned.after(async (ctx) => {
    await ctx.lan?.harness.close();
    await nets.cleanup();
  });

  owned('the ip monitor child lives as long as its watch', async ({ lan }) => {
    const { b } = lan.harness.drivers;
    assert.equal(await pidsIn(lan.ns.b), []);
    const watch = await b.watchLinks();
    assert.is((await pidsIn(lan.ns.b)).length, 1);
    await watch.close();
    await until('monitor gone', async () => (await pidsIn(lan.ns.b)).length === 0);

    const ac = new AbortController();
    const aborted = await b.watchLinks({ signal: ac.signal });
    ac.abort();
    await rejects(aborted.next(), withCode('HAL_CANCELED'));
    await until('monitor gone after abort', async () => (await pidsIn(lan.ns.b)).length === 0);
  });

  owned('a missing namespace is HAL_NOT_FOUND naming it', async () => {
    const missing = nets.name('nosuch');
    const net = new LinuxNet({ netns: missing });
    const names = (e: unknown) => HalError.is(e, 'HAL_NOT_FOUND') && e.message.includes(missing);
    await rejects(net.links(), names);
    await rejects(net.watchLinks(), names);
    await rejects(net.addAddress('tnda0', '10.77.0.5/24'), names);
    await net.close();
  });

  owned.run();
}
