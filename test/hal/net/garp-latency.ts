/**
 * Micro-benchmark (not a test; run as root with `npx tsx test/hal/net/garp-latency.ts [frames]`): how long
 * from announce() to the frame on the wire, as tcpdump on the far end of a veth timestamps it, for
 * the helper and for arping. Calls go every 100 ms without waiting for the last (arping lingers).
 */
import { run } from '../../../board/sim/testbed/exec.ts';
import { addVeth, TestNetns } from '../../../board/sim/testbed/netns.ts';
import { LinuxNet } from '../../../hal/net/linux.ts';
import { captureArp } from './tcpdump.ts';

const frames = Number(process.argv[2] ?? 40);
const wall = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const pct = (v: number[], p: number): number => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};

const nets = new TestNetns();
try {
  const [a, far] = [await nets.add('ga'), await nets.add('gb')];
  await addVeth({ ns: a, ifname: 'tndg0' }, { ns: far, ifname: 'tndg1' });
  await run(['ip', '-n', a, 'addr', 'add', '10.79.0.1/24', 'dev', 'tndg0']);
  for (const [ns, dev] of [
    [a, 'tndg0'],
    [far, 'tndg1'],
  ] as const)
    await run(['ip', '-n', ns, 'link', 'set', dev, 'up']);
  await sleep(500);
  for (const sender of ['arping', 'helper'] as const) {
    const net = new LinuxNet({ netns: a, garpSender: sender });
    await net.addresses();
    await net.announce('tndg0', '10.79.0.1');
    const cap = captureArp(far, 'tndg1', 'arp', frames, 30_000);
    await cap.ready;
    const calls: number[] = [];
    const bursts: Promise<unknown>[] = [];
    for (let i = 0; i < frames; i++) {
      calls.push(wall());
      bursts.push(net.announce('tndg0', '10.79.0.1'));
      await sleep(100);
    }
    await Promise.all(bursts);
    const seen = await cap.frames;
    const lat = seen.map((f, i) => f.time * 1000 - (calls[i] ?? Number.NaN));
    console.log(
      `${sender.padEnd(7)} call -> frame on the wire: n ${lat.length}, p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms, max ${Math.max(...lat).toFixed(2)} ms`,
    );
    await net.close();
  }
} finally {
  await nets.cleanup();
}
