/**
 * A two-node harness for focused scenario tests of the core (quinn's tests/util.rs `Pair`): the
 * simulated world with clean links and no random faults, time that jumps to the next event, a record of
 * every step, and the simulation's invariant checker watching throughout.
 */

import * as assert from 'uvu/assert';
import type {
  AlarmCode,
  ClusterAction,
  ClusterConfigInput,
  ClusterEvent,
  Command,
  CoreState,
  LinkName,
  Role,
} from '../../firmware/cluster/types.ts';
import { Checker } from './sim/checker.ts';
import { cleanLink, type LinkOptions } from './sim/network.ts';
import type { NodeIndex, Settings } from './sim/scenario.ts';
import { type Observer, World } from './sim/world.ts';

export interface PairOptions {
  /** Shared config (timers, pingNode, fence); per-node overrides below. */
  config?: Partial<ClusterConfigInput>;
  a?: Partial<ClusterConfigInput>;
  b?: Partial<ClusterConfigInput>;
  links?: Partial<Record<LinkName, Partial<LinkOptions>>>;
  pingMs?: number;
  fenceMs?: number;
  /** Frames through the real codec (default true). */
  fullCodec?: boolean;
  trace?: boolean;
}

export interface StepRecord {
  t: number;
  node: NodeIndex;
  event: ClusterEvent;
  actions: readonly ClusterAction[];
  role: Role;
}

export const A: NodeIndex = 0;
export const B: NodeIndex = 1;

/** Timers small enough for quick tests, in the same proportions as the defaults. */
export const testTimers = {
  keepaliveMs: 20,
  warnMs: 50,
  deadMs: 80,
  initDeadMs: 200,
  handoverTimeoutMs: 300,
  checkTimeoutMs: 50,
  recheckMs: 400,
  preemptDelayMs: 500,
} as const;

export class Pair {
  readonly world: World;
  readonly checker: Checker;
  readonly log: StepRecord[] = [];

  constructor(o: PairOptions = {}) {
    const base = { ...testTimers, pingNode: true, fence: false, ...o.config };
    const links: Partial<Record<LinkName, LinkOptions>> = {};
    const names = (o.config?.links ?? ['serial', 'eth']) as readonly LinkName[];
    for (const l of names) {
      links[l] = { ...(l === 'serial' ? cleanLink(true, 6) : cleanLink(false, 0.2)), ...o.links?.[l] };
    }
    const settings: Settings = {
      seed: 0,
      configs: [
        { nodeId: 1, priority: 200, ...base, ...o.a },
        { nodeId: 2, priority: 100, ...base, ...o.b },
      ],
      startAt: [0, 0],
      clockOffset: [1000, 5_000_000],
      links,
      pingLatencyMs: { min: o.pingMs ?? 1, max: o.pingMs ?? 1 },
      fenceLatencyMs: { min: o.fenceMs ?? 5, max: o.fenceMs ?? 5 },
      restartMs: { min: 1e12, max: 1e12 },
      fullCodec: o.fullCodec ?? true,
      safetyMs: 0,
      faults: [],
    };
    this.checker = new Checker(settings);
    const checker = this.checker;
    const log = this.log;
    const observer: Observer = {
      afterStep(world, node, event, prev, result, meta) {
        log.push({ t: world.now, node, event, actions: result.actions, role: result.state.role });
        checker.afterStep(world, node, event, prev, result, meta);
      },
      beforeItem: (world, at) => checker.beforeItem(world, at),
      onDown: (world, node, why, held) => checker.onDown(world, node, why, held),
      onUp: (world, node) => checker.onUp(world, node),
      onDisturb: (world, node, what) => checker.onDisturb(world, node, what),
      onFalseAccept: (world, node, detail) => checker.onFalseAccept(world, node, detail),
    };
    this.world = new World(settings, { observer, trace: o.trace ?? false });
  }

  get now(): number {
    return this.world.now;
  }

  state(i: NodeIndex): CoreState {
    const s = this.world.nodes[i].state;
    if (s === undefined) throw new RangeError(`node ${'AB'[i]} is down`);
    return s;
  }

  role(i: NodeIndex): Role | 'DOWN' {
    return this.world.nodes[i].state?.role ?? 'DOWN';
  }

  holds(i: NodeIndex): boolean {
    return this.world.nodes[i].vip;
  }

  start(...nodes: NodeIndex[]): this {
    for (const i of nodes.length === 0 ? [A, B] : nodes) this.world.start(i);
    return this;
  }

  run(ms: number): this {
    this.world.run(this.world.now + ms);
    return this;
  }

  /** Runs until `done` holds; throws (naming `what`) when `maxMs` passes first. */
  until(what: string, done: () => boolean, maxMs: number): number {
    const from = this.world.now;
    if (!this.world.runUntil(done, maxMs)) {
      assert.unreachable(`${what}: not reached within ${maxMs} ms (A ${this.role(A)}, B ${this.role(B)})`);
    }
    return this.world.now - from;
  }

  /** Starts both and runs until A is ACTIVE and B STANDBY (A has the higher priority by default). */
  settle(): this {
    this.start();
    this.until('A ACTIVE, B STANDBY', () => this.role(A) === 'ACTIVE' && this.role(B) === 'STANDBY', 2000);
    this.run(100);
    return this;
  }

  command(i: NodeIndex, command: Command): void {
    this.world.command(i, command);
  }

  health(i: NodeIndex, score: number): void {
    this.world.setHealth(i, score);
  }

  /** Records of node `i` (optionally only since time `since`). */
  records(i: NodeIndex, since = Number.NEGATIVE_INFINITY): StepRecord[] {
    return this.log.filter((r) => r.node === i && r.t >= since);
  }

  actions(i: NodeIndex, since = Number.NEGATIVE_INFINITY): ClusterAction[] {
    return this.records(i, since).flatMap((r) => r.actions);
  }

  alarms(i: NodeIndex, code?: AlarmCode, since = Number.NEGATIVE_INFINITY): ClusterAction[] {
    return this.actions(i, since).filter(
      (a) => a.type === 'alarm' && (code === undefined || a.code === code),
    );
  }

  transitions(i: NodeIndex, since = Number.NEGATIVE_INFINITY): string[] {
    return this.actions(i, since).flatMap((a) =>
      a.type === 'transition' ? [`${a.from}→${a.to}(${a.reason})`] : [],
    );
  }

  /** World time of the first action of `type` by node `i` at or after `since`. */
  firstAt(i: NodeIndex, type: ClusterAction['type'], since = Number.NEGATIVE_INFINITY): number | undefined {
    return this.records(i, since).find((r) => r.actions.some((a) => a.type === type))?.t;
  }
}
