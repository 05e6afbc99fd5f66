/**
 * Everything one simulated run does, drawn from ONE seed (tigerbeetle vopr): the two nodes' configs,
 * each link's fault options, check latencies, and the time-ordered fault plan of the safety phase.
 * `describe` prints it so a failing seed says what it was testing.
 */
import type { ClusterConfigInput, Command, LinkName } from '../../../firmware/cluster/types.ts';
import { Rng } from '../../../hal/sim/rng.ts';
import { type LinkOptions, maxDelayMs } from './network.ts';

export type NodeIndex = 0 | 1;

export type Fault =
  | { at: number; kind: 'cut'; link: LinkName; dir: 0 | 1 | 'both'; carrier: boolean }
  | { at: number; kind: 'restore'; link: LinkName }
  | { at: number; kind: 'crash'; node: NodeIndex; downMs: number }
  | { at: number; kind: 'stall'; node: NodeIndex; ms: number }
  | { at: number; kind: 'health'; node: NodeIndex; score: number }
  | { at: number; kind: 'command'; node: NodeIndex; command: Command }
  | { at: number; kind: 'ping'; node: NodeIndex; reachable: boolean }
  | { at: number; kind: 'fence-line'; node: NodeIndex; works: boolean };

export interface Range {
  min: number;
  max: number;
}

export interface Settings {
  seed: number;
  configs: [ClusterConfigInput, ClusterConfigInput];
  /** When each node is started (world ms). */
  startAt: [number, number];
  /** Added to world time to get each node's monotonic clock (the clocks share no origin). */
  clockOffset: [number, number];
  links: Partial<Record<LinkName, LinkOptions>>;
  pingLatencyMs: Range;
  fenceLatencyMs: Range;
  /** How long a fenced (power-cycled) or left node stays down. */
  restartMs: Range;
  /** Frames go through the real codec (encode, byte stream or datagram parse) when true; otherwise only
   *  corrupted frames do. */
  fullCodec: boolean;
  safetyMs: number;
  faults: Fault[];
}

const COMMANDS: readonly Command[] = ['failover', 'failover', 'maintenance-on', 'maintenance-off', 'leave'];

function linkOptions(rng: Rng, name: LinkName, keepaliveMs: number): LinkOptions {
  const serial = name === 'serial';
  // A 70-byte frame at 115200 baud takes about 6 ms on the wire.
  const delayMinMs = serial ? 6 + rng.float() : 0.05 + rng.float() * 0.5;
  const lossy = rng.chance(0.5);
  return {
    delayMinMs,
    delayMeanMs: delayMinMs + (rng.chance(0.3) ? rng.float() * keepaliveMs * 0.5 : rng.float() * 0.5),
    loss: lossy ? rng.float() * (rng.chance(0.2) ? 0.5 : 0.15) : 0,
    duplicate: serial ? 0 : rng.chance(0.3) ? rng.float() * 0.1 : 0,
    reorder: serial ? 0 : rng.chance(0.3) ? rng.float() * 0.2 : 0,
    reorderSpreadMs: rng.float() * keepaliveMs * 2,
    corrupt: rng.chance(0.4) ? rng.float() * 0.05 : 0,
    fifo: serial,
  };
}

export function makeSettings(seed: number): Settings {
  const rng = new Rng(seed);
  const keepaliveMs = rng.int(10, 40);
  const warnMs = Math.round(keepaliveMs * (1.5 + rng.float() * 1.5));
  const deadMs = Math.max(warnMs + 1, Math.round(keepaliveMs * (3 + rng.float() * 3)));
  const initDeadMs = Math.round(deadMs * (2 + rng.float() * 2));
  const timers = {
    keepaliveMs,
    warnMs,
    deadMs,
    initDeadMs,
    handoverTimeoutMs: rng.int(3, 10) * deadMs,
    checkTimeoutMs: rng.int(5, 60),
    recheckMs: rng.int(2, 10) * deadMs,
    preemptDelayMs: rng.int(0, 20) * deadMs,
  };
  const links: LinkName[] = rng.chance(0.85) ? ['serial', 'eth'] : [rng.pick(['serial', 'eth'] as const)];
  const pingNode = rng.chance(0.75);
  const fence = rng.chance(0.5);
  const samePriority = rng.chance(0.3);
  const idA = rng.int(0, 0xffff);
  const idB = (idA + rng.int(1, 0xfffe)) % 0x10000;
  const minHealth = rng.int(30, 80);
  const node = (nodeId: number, priority: number): ClusterConfigInput => ({
    nodeId,
    priority,
    ...timers,
    preempt: rng.chance(0.25),
    links,
    minHealth,
    pingNode,
    fence,
  });
  const pA = rng.int(1, 255);
  const configs: [ClusterConfigInput, ClusterConfigInput] = [
    node(idA, pA),
    node(idB, samePriority ? pA : rng.int(1, 255)),
  ];
  const linkOpts: Partial<Record<LinkName, LinkOptions>> = {};
  for (const l of links) linkOpts[l] = linkOptions(rng, l, keepaliveMs);
  const together = rng.chance(0.5);
  const startAt: [number, number] = [
    rng.float() * 5,
    together ? rng.float() * 5 : rng.float() * initDeadMs * 3,
  ];
  const safetyMs = Math.round(startAt[1] + deadMs * rng.int(12, 40));
  const restartMs = { min: 2 * deadMs, max: 2 * deadMs + rng.int(0, 10) * deadMs };
  const faults: Fault[] = [];
  const count = rng.chance(0.1) ? 0 : rng.int(1, 10);
  for (let i = 0; i < count; i++) {
    const at = rng.float() * safetyMs;
    const n = rng.int(0, 1) as NodeIndex;
    const link = rng.pick(links);
    const r = rng.float();
    if (r < 0.18) {
      const dir = rng.chance(0.7) ? 'both' : (rng.int(0, 1) as 0 | 1);
      faults.push({
        at,
        kind: 'cut',
        link,
        dir,
        carrier: link === 'eth' && dir === 'both' && rng.chance(0.5),
      });
      if (rng.chance(0.7)) faults.push({ at: at + rng.float() * deadMs * 10, kind: 'restore', link });
    } else if (r < 0.36) {
      faults.push({
        at,
        kind: 'crash',
        node: n,
        downMs: rng.chance(0.2) ? rng.float() * deadMs : rng.int(1, 30) * deadMs,
      });
    } else if (r < 0.48) {
      const ms = rng.chance(0.5) ? rng.float() * deadMs : rng.float() * deadMs * 4;
      faults.push({ at, kind: 'stall', node: n, ms });
    } else if (r < 0.6) {
      const score = rng.chance(0.5) ? rng.int(0, minHealth - 1) : rng.int(minHealth, 100);
      faults.push({ at, kind: 'health', node: n, score });
      if (rng.chance(0.6))
        faults.push({ at: at + rng.float() * deadMs * 10, kind: 'health', node: n, score: 100 });
    } else if (r < 0.8) {
      faults.push({ at, kind: 'command', node: n, command: rng.pick(COMMANDS) });
    } else if (r < 0.9) {
      faults.push({ at, kind: 'ping', node: n, reachable: false });
      if (rng.chance(0.7))
        faults.push({ at: at + rng.float() * deadMs * 20, kind: 'ping', node: n, reachable: true });
    } else {
      faults.push({ at, kind: 'fence-line', node: n, works: false });
      if (rng.chance(0.5))
        faults.push({ at: at + rng.float() * deadMs * 20, kind: 'fence-line', node: n, works: true });
    }
  }
  faults.sort((a, b) => a.at - b.at);
  return {
    seed,
    configs,
    startAt,
    clockOffset: [rng.int(0, 1_000_000), rng.int(0, 1_000_000)],
    links: linkOpts,
    pingLatencyMs: { min: 0.1, max: 0.1 + rng.float() * (rng.chance(0.1) ? 80 : 3) },
    fenceLatencyMs: { min: 1, max: 1 + rng.float() * 20 },
    restartMs,
    fullCodec: rng.chance(0.1),
    safetyMs: Math.max(safetyMs, ...faults.map((f) => f.at + 1)),
    faults,
  };
}

/** The longest one-way delay of any link in the settings. */
export function worstDelayMs(s: Settings): number {
  return Math.max(0, ...Object.values(s.links).map((o) => maxDelayMs(o)));
}

export function describe(s: Settings): string {
  const c = s.configs[0];
  const lines = [
    `seed=${s.seed}`,
    `timers: keepalive ${c.keepaliveMs} warn ${c.warnMs} dead ${c.deadMs} initDead ${c.initDeadMs} ` +
      `handover ${c.handoverTimeoutMs} check ${c.checkTimeoutMs} recheck ${c.recheckMs} preemptDelay ${c.preemptDelayMs}`,
    `nodes: ${s.configs.map((n, i) => `${'AB'[i]}(id ${n.nodeId} prio ${n.priority}${n.preempt ? ' preempt' : ''} start ${s.startAt[i]?.toFixed(1)})`).join(' ')}` +
      ` minHealth ${c.minHealth} pingNode ${c.pingNode} fence ${c.fence} codec ${s.fullCodec ? 'full' : 'corrupt-only'}`,
    ...Object.entries(s.links).map(
      ([name, o]) =>
        `link ${name}: delay ${o.delayMinMs.toFixed(2)}/${o.delayMeanMs.toFixed(2)} loss ${o.loss.toFixed(3)} dup ${o.duplicate.toFixed(3)} ` +
        `reorder ${o.reorder.toFixed(3)}/${o.reorderSpreadMs.toFixed(1)} corrupt ${o.corrupt.toFixed(3)}`,
    ),
    `ping ${s.pingLatencyMs.min}-${s.pingLatencyMs.max.toFixed(1)} ms, fence ${s.fenceLatencyMs.min}-${s.fenceLatencyMs.max.toFixed(1)} ms, ` +
      `restart ${s.restartMs.min}-${s.restartMs.max} ms, safety phase ${s.safetyMs} ms`,
    `faults: ${s.faults.length === 0 ? 'none' : ''}`,
    ...s.faults.map((f) => `  ${f.at.toFixed(1)} ${JSON.stringify({ ...f, at: undefined })}`),
  ];
  return lines.join('\n');
}
