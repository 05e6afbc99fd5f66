/**
 * Failover figures from the simulation, for choosing timer defaults (and for bench/ later): for given
 * timers, how long after the active dies the standby holds the VIPs, and how many takeovers happen
 * while nobody died (false takeovers) when frames are lost and the active's process stalls briefly.
 *
 *   npx tsx test/cluster/sim/detection.ts [keepaliveMs deadMs [warnMs]]
 */
import { pathToFileURL } from 'node:url';
import type { ClusterConfigInput } from '../../../firmware/cluster/types.ts';
import { Rng } from '../../../hal/sim/rng.ts';
import { Checker } from './checker.ts';
import { cleanLink, type LinkOptions } from './network.ts';
import { converged } from './runner.ts';
import type { Settings } from './scenario.ts';
import { World } from './world.ts';

export interface DetectionOptions {
  keepaliveMs: number;
  warnMs: number;
  deadMs: number;
  /** Runs (each a fresh pair and one crash of the active). */
  runs: number;
  seed: number;
  /** Per-frame loss on each link during the false-takeover run. */
  loss: number;
  /** Stalls of the active's heartbeat process during the false-takeover run: how many, how long at most. */
  stalls: number;
  stallMaxMs: number;
  /** Length of the false-takeover run. */
  quietMs: number;
  pingMs: number;
  fenceMs: number;
}

export interface DetectionFigures {
  gapsMs: number[];
  p50: number;
  p99: number;
  max: number;
  falseTakeovers: number;
}

function settings(o: DetectionOptions, seed: number, loss: number): Settings {
  const config = (nodeId: number, priority: number): ClusterConfigInput => ({
    nodeId,
    priority,
    keepaliveMs: o.keepaliveMs,
    warnMs: o.warnMs,
    deadMs: o.deadMs,
    initDeadMs: 2 * o.deadMs,
    pingNode: true,
    fence: true,
    checkTimeoutMs: Math.max(50, 2 * (o.pingMs + o.fenceMs)),
  });
  // The serial link: a 70-byte frame at 115200 baud is 6.1 ms on the wire; eth is sub-millisecond.
  const serial: LinkOptions = { ...cleanLink(true, 6.1), delayMeanMs: 6.3, loss };
  const eth: LinkOptions = { ...cleanLink(false, 0.1), delayMeanMs: 0.3, loss };
  return {
    seed,
    configs: [config(1, 200), config(2, 100)],
    startAt: [0, 0],
    clockOffset: [0, 0],
    links: { serial, eth },
    pingLatencyMs: { min: o.pingMs / 2, max: o.pingMs },
    fenceLatencyMs: { min: o.fenceMs / 2, max: o.fenceMs },
    restartMs: { min: 1e9, max: 1e9 },
    fullCodec: false,
    safetyMs: 0,
    faults: [],
  };
}

export function detectionTimes(o: DetectionOptions): DetectionFigures {
  const rng = new Rng(o.seed);
  const gaps: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const s = settings(o, rng.u32(), 0);
    const checker = new Checker(s);
    const world = new World(s, { observer: checker });
    world.start(0);
    world.start(1);
    world.runUntil(() => converged(world), 10 * o.deadMs + 1000);
    world.run(world.now + rng.float() * o.keepaliveMs * 3);
    const active = world.nodes[0].vip ? 0 : 1;
    const crashedAt = world.now;
    world.crash(active);
    world.runUntil(() => world.nodes[active === 0 ? 1 : 0].vip, 10 * o.deadMs);
    gaps.push(world.now - crashedAt);
  }
  let falseTakeovers = 0;
  if (o.quietMs > 0) {
    const s = settings(o, rng.u32(), o.loss);
    const world = new World(s);
    world.start(0);
    world.start(1);
    world.runUntil(() => converged(world), 10 * o.deadMs + 1000);
    const before = world.stats.takeovers['peer-dead'] ?? 0;
    const fencedBefore = world.stats.takeovers['peer-fenced'] ?? 0;
    for (let i = 0; i < o.stalls; i++) {
      const at = world.now + rng.float() * o.quietMs;
      world.at(at, () => world.stall(world.nodes[0].vip ? 0 : 1, rng.float() * o.stallMaxMs));
    }
    world.run(world.now + o.quietMs);
    falseTakeovers =
      (world.stats.takeovers['peer-dead'] ?? 0) -
      before +
      (world.stats.takeovers['peer-fenced'] ?? 0) -
      fencedBefore;
  }
  const sorted = [...gaps].sort((a, b) => a - b);
  const q = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  return { gapsMs: gaps, p50: q(0.5), p99: q(0.99), max: q(1), falseTakeovers };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [k, d, w] = process.argv.slice(2).map(Number);
  const grid: [number, number, number][] =
    k && d
      ? [[k, d, w || Math.round((k + d) / 2)]]
      : [
          [10, 40, 25],
          [20, 60, 40],
          [20, 80, 50],
          [20, 100, 50],
          [30, 120, 70],
        ];
  for (const [keepaliveMs, deadMs, warnMs] of grid) {
    const f = detectionTimes({
      keepaliveMs,
      warnMs,
      deadMs,
      runs: 400,
      seed: 1,
      loss: 0.05,
      stalls: 200,
      stallMaxMs: 40,
      quietMs: 600_000,
      pingMs: 1,
      fenceMs: 10,
    });
    console.log(
      `keepalive ${keepaliveMs} warn ${warnMs} dead ${deadMs}: gap p50 ${f.p50.toFixed(1)} p99 ${f.p99.toFixed(1)} ` +
        `max ${f.max.toFixed(1)} ms; false takeovers in 10 min at 5% loss with 200 stalls ≤ 40 ms: ${f.falseTakeovers}`,
    );
  }
}
