import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { simBoard } from '../../../board/sim.ts';
import { panelLineNames } from '../../../board/wiring.ts';
import { CommandRejectedError } from '../../../firmware/cluster/errors.ts';
import type { ClusterJournal, JournalRecord } from '../../../firmware/cluster/journal-link.ts';
import { type ClusterHandle, startCluster } from '../../../firmware/cluster/service.ts';
import type { ClusterConfigInput } from '../../../firmware/cluster/types.ts';
import { startTakeover } from '../../../firmware/takeover/service.ts';
import type { Takeover } from '../../../firmware/takeover/types.ts';
import { SimClock } from '../../../hal/clock/sim.ts';
import { SimGpioChip, SimGpioDriver } from '../../../hal/gpio/sim.ts';
import { SimPinger } from '../../../hal/icmp/sim.ts';
import { SimNetwork } from '../../../hal/net/sim.ts';
import { SimSerialCable, SimSerialDriver } from '../../../hal/serial/sim.ts';
import { Rng } from '../../../hal/sim/rng.ts';

/**
 * The cluster service (the shell around the core) with simulated drivers on one SimClock: two nodes on
 * a simulated null-modem cable at 115200 baud, the takeover on a simulated L2 world, a simulated ping
 * node and fence line, and an in-memory journal that records what the service asked of it. The order of
 * effects is checked through one shared log.
 */

const PING = '192.0.2.10';

class MemoryJournal implements ClusterJournal {
  readonly records: JournalRecord[] = [];
  leaderEpoch = 0;
  constructor(
    private readonly node: string,
    private readonly order: string[],
    private epoch = 0,
  ) {}
  async knownEpoch(): Promise<number> {
    return this.epoch;
  }
  async lead(epoch: number): Promise<boolean> {
    this.order.push(`${this.node} lead ${epoch}`);
    this.epoch = Math.max(this.epoch, epoch);
    this.leaderEpoch = epoch;
    return true;
  }
  async follow(): Promise<void> {
    this.order.push(`${this.node} follow`);
    this.leaderEpoch = 0;
  }
  async record(event: JournalRecord): Promise<void> {
    if (this.leaderEpoch > 0) this.records.push(event);
  }
}

/** The real takeover, logging acquire and release into the shared order. */
function logged(node: string, inner: Takeover, order: string[]): Takeover {
  return {
    acquire: async (epoch) => {
      order.push(`${node} acquire ${epoch}`);
      await inner.acquire(epoch);
    },
    release: async () => {
      order.push(`${node} release`);
      await inner.release();
    },
    announce: () => inner.announce(),
    reconcile: () => inner.reconcile(),
    status: () => inner.status(),
    close: () => inner.close(),
  };
}

interface Node {
  name: 'a' | 'b';
  handle: ClusterHandle | undefined;
  journal: MemoryJournal;
  chip: SimGpioChip;
  net: ReturnType<SimNetwork['addNode']>;
  start(extra?: Partial<ClusterConfigInput>): Promise<ClusterHandle>;
}

interface World {
  clock: SimClock;
  cable: SimSerialCable;
  pinger: SimPinger;
  order: string[];
  a: Node;
  b: Node;
  dir: string;
}

async function makeWorld(o: { core?: Partial<ClusterConfigInput>; seed?: number } = {}): Promise<World> {
  const clock = new SimClock();
  const rng = new Rng(o.seed ?? 1);
  const cable = new SimSerialCable({ clock, rng: rng.fork() });
  const net = new SimNetwork({ clock });
  net.addSegment('client');
  net.addSegment('server');
  const pinger = new SimPinger({ clock, rng: rng.fork() });
  pinger.setUp(PING, { rttMs: 1 });
  const order: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tnd-cluster-service-'));
  const node = async (name: 'a' | 'b'): Promise<Node> => {
    const board = simBoard({ prefix: 'tnd-unit', node: name });
    const serial = new SimSerialDriver();
    serial.attach('/dev/ttyS1', name === 'a' ? cable.a : cable.b);
    const host = net.addNode(name);
    net.connect(name, 'client', 'client0');
    net.connect(name, 'server', 'server0');
    await host.addAddress('client0', name === 'a' ? '192.0.2.2/24' : '192.0.2.3/24');
    await host.addAddress('server0', name === 'a' ? '198.51.100.2/24' : '198.51.100.3/24');
    const chip = new SimGpioChip({ name: board.gpio.chip, lines: panelLineNames(board), clock });
    const n: Node = {
      name,
      handle: undefined,
      journal: new MemoryJournal(name, order),
      chip,
      net: host,
      start: async (extra = {}) => {
        const takeover = startTakeover({
          net: host,
          clock,
          config: {
            addresses: [
              { link: 'client0', cidr: '192.0.2.100/24' },
              { link: 'server0', cidr: '198.51.100.1/24' },
            ],
          },
        });
        const handle = await settle(
          clock,
          startCluster({
            drivers: { board, clock, serial, net: host, pinger, gpio: new SimGpioDriver([chip]) },
            config: {
              core: {
                nodeId: name === 'a' ? 1 : 2,
                priority: name === 'a' ? 200 : 100,
                links: ['serial'],
                initDeadMs: 300,
                ...o.core,
                ...extra,
              },
              key: Buffer.alloc(32, 7),
              serial: { path: '/dev/ttyS1', baudRate: 115200 },
              pingAddress: PING,
              bootRecordPath: join(dir, `boot-${name}.json`),
              watchCarrier: false,
            },
            journal: n.journal,
            takeover: logged(name, takeover, order),
            log: () => {},
          }),
        );
        n.handle = handle;
        return handle;
      },
    };
    return n;
  };
  return { clock, cable, pinger, order, a: await node('a'), b: await node('b'), dir };
}

/** Runs simulated time forward by `ms`, letting promise callbacks and real I/O callbacks run. */
async function run(clock: SimClock, ms: number): Promise<void> {
  const until = clock.worldNow() + ms;
  for (;;) {
    await new Promise((r) => setImmediate(r));
    await SimClock.flush();
    const due = clock.nextDue();
    if (due === undefined || due > until) break;
    clock.runNext();
  }
  clock.advanceTo(until);
  await SimClock.flush();
}

async function settle<T>(clock: SimClock, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < 2000 && !done; i++) await run(clock, 1);
  return p;
}

async function until(clock: SimClock, what: string, ok: () => boolean, maxMs: number): Promise<number> {
  const from = clock.worldNow();
  while (!ok()) {
    if (clock.worldNow() - from > maxMs)
      assert.unreachable(`${what}: not within ${maxMs} ms of simulated time`);
    await run(clock, 1);
  }
  return clock.worldNow() - from;
}

const role = (n: Node): string => n.handle?.status().role ?? 'DOWN';
const vip = async (n: Node): Promise<boolean> =>
  (await n.net.addresses('client0')).some((a) => a.address === '192.0.2.100');

async function pair(o: Parameters<typeof makeWorld>[0] = {}): Promise<World> {
  const w = await makeWorld(o);
  await Promise.all([w.a.start(), w.b.start()]);
  await until(w.clock, 'A ACTIVE, B STANDBY', () => role(w.a) === 'ACTIVE' && role(w.b) === 'STANDBY', 3000);
  await run(w.clock, 100);
  return w;
}

async function done(w: World): Promise<void> {
  await Promise.all([w.a.handle?.close(), w.b.handle?.close()]);
  rmSync(w.dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------

const start = suite('cluster service: start and takeover (simulated drivers)');

start('two nodes settle: A leads the journal before acquiring, the VIP is on A only', async () => {
  const w = await pair();
  assert.equal(w.order.slice(0, 4), ['a follow', 'b follow', 'a lead 1', 'a acquire 1']);
  assert.ok(await vip(w.a));
  assert.not.ok(await vip(w.b));
  const s = w.a.handle?.status();
  assert.is(s?.peer?.role, 'STANDBY');
  assert.ok((s?.links[0]?.shell?.counters.framesIn ?? 0) > 10, 'frames cross the simulated cable');
  assert.ok(
    w.a.journal.records.some((r) => r.message === 'role INIT -> ACTIVE (election)'),
    'the transition is in the journal',
  );
  assert.equal(JSON.parse(readFileSync(join(w.dir, 'boot-a.json'), 'utf8')), { boot: 1, epoch: 1 });
  await done(w);
});

start('the active stops: B takes over within the dead time and a bound, with a newer epoch', async () => {
  const w = await pair();
  await w.a.handle?.close();
  const ms = await until(w.clock, 'B ACTIVE', () => role(w.b) === 'ACTIVE', 1000);
  const dead = w.b.handle?.status().config.deadMs ?? 0;
  assert.ok(ms <= dead + 10, `took over ${ms} ms after the last frame could have left (dead ${dead})`);
  await run(w.clock, 50);
  const tail = w.order.slice(-2);
  assert.equal(tail, ['b lead 2', 'b acquire 2']);
  assert.ok(await vip(w.b));
  assert.equal(JSON.parse(readFileSync(join(w.dir, 'boot-b.json'), 'utf8')), { boot: 1, epoch: 2 });
  await done(w);
});

start('leave on the ACTIVE hands over; A releases after B is ACTIVE and `exited` resolves', async () => {
  const w = await pair();
  let exited = false;
  void w.a.handle?.exited.then(() => {
    exited = true;
  });
  w.a.handle?.command('leave');
  await until(w.clock, 'B ACTIVE', () => role(w.b) === 'ACTIVE', 500);
  await until(w.clock, 'A exited', () => exited, 1000);
  assert.is(role(w.a), 'STOPPED');
  const bAcquire = w.order.indexOf('b acquire 2');
  const aRelease = w.order.indexOf('a release');
  assert.ok(bAcquire >= 0 && aRelease > bAcquire, `B acquires before A releases: ${w.order.join(', ')}`);
  assert.not.ok(await vip(w.a));
  assert.ok(await vip(w.b));
  await done(w);
});

start('operator commands the core refuses come back as its errors', async () => {
  const w = await makeWorld();
  await w.a.start();
  await until(w.clock, 'A ACTIVE alone', () => role(w.a) === 'ACTIVE', 2000);
  assert.throws(
    () => w.a.handle?.command('failover'),
    (e: unknown) => e instanceof CommandRejectedError,
  );
  assert.throws(
    () => w.a.handle?.command('maintenance-on'),
    (e: unknown) => e instanceof CommandRejectedError,
  );
  assert.is(role(w.a), 'ACTIVE');
  await done(w);
});

start.run();

// ---

const split = suite('cluster service: ping node, fence, restarts (simulated drivers)');

split('cable cut and ping node down: neither takes over; A, isolated, releases', async () => {
  const w = await pair({ core: { pingNode: true } });
  w.pinger.setDown(PING);
  w.cable.cut();
  await until(w.clock, 'A FAULT', () => role(w.a) === 'FAULT', 1000);
  await run(w.clock, 500);
  assert.is(role(w.b), 'STANDBY');
  assert.not.ok(await vip(w.a));
  assert.not.ok(await vip(w.b));
  assert.ok((w.a.handle?.status().alarms.ISOLATED ?? 0) >= 1);
  await done(w);
});

split('with a fence line, B pulses it before taking over from a silent A', async () => {
  const w = await pair({ core: { fence: true, pingNode: false } });
  const line = 'peer-fence';
  w.b.chip.clearHistory();
  await w.a.handle?.close();
  await until(w.clock, 'B ACTIVE', () => role(w.b) === 'ACTIVE', 1000);
  const pulses = w.b.chip.history(line).map((c) => c.value);
  assert.equal(pulses.slice(-2), [1, 0], `the fence line went up and down: ${JSON.stringify(pulses)}`);
  assert.is(w.b.handle?.status().transitions.at(-1)?.reason, 'peer-fenced');
  await done(w);
});

split('a restarted node has a higher boot counter and joins as STANDBY', async () => {
  const w = await pair();
  await w.b.handle?.close();
  await run(w.clock, 300);
  await w.b.start();
  await until(w.clock, 'B STANDBY', () => role(w.b) === 'STANDBY', 2000);
  assert.is(w.b.handle?.status().boot, 2);
  // A holds the first frames after a silence for two keepalives, then acts on the newest.
  await until(w.clock, 'A hears the new boot', () => w.a.handle?.status().peer?.boot === 2, 200);
  assert.is(role(w.a), 'ACTIVE');
  assert.ok((w.a.handle?.status().alarms.PEER_BACK ?? 0) >= 1, JSON.stringify(w.a.handle?.status().alarms));
  await done(w);
});

split.run();
