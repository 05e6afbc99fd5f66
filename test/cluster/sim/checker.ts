/**
 * The invariants, checked after every step of the world (tigerbeetle's state_checker):
 *
 * - one holder: once each ACTIVE has processed a fresh frame that the other sent after both claims were
 *   current (acquire or epoch change), at most one of them holds the VIPs. This is "never two ACTIVE while
 *   a link works, beyond the detection window" made exact: the window is however long the links take to
 *   carry one frame each way.
 * - failover: when the VIP holder crashes while the other node is a healthy STANDBY that heard it within
 *   deadMs and can ping and fence, the STANDBY holds the VIPs within deadMs + worst link delay + ping and
 *   fence latency.
 * - epochs: a node's epoch never decreases within a boot, its persisted epoch never decreases, every
 *   acquire follows a persist-epoch of that epoch in the same step and is above every earlier acquire.
 * - consistency: a node holds the VIPs exactly when its core is ACTIVE; it never exits holding them; a
 *   graceful handover releases only once the peer holds the VIPs (no gap, unless the peer crashed).
 * - codec: no mangled frame is ever accepted.
 * - no flapping: transitions per node are bounded by the number of faults, and none happen in the quiet
 *   window after the liveness phase converged.
 */
import type { ClusterEvent, CoreState, StepResult } from '../../../firmware/cluster/types.ts';
import type { NodeIndex, Settings } from './scenario.ts';
import { worstDelayMs } from './scenario.ts';
import { type FrameMeta, NAMES, type Observer, type World } from './world.ts';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

interface Watch {
  standby: NodeIndex;
  crashedAt: number;
  deadline: number;
}

const other = (i: NodeIndex): NodeIndex => (i === 0 ? 1 : 0);

export class Checker implements Observer {
  private readonly settings: Settings;
  /** World step of the last acquire or epoch change while holding, per node. */
  private readonly claimAt: [number, number] = [0, 0];
  /** Send step of the newest fresh frame each node processed from the other. */
  private readonly freshSentAt: [number, number] = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  /** World time each node last processed a fresh frame from the other. */
  private readonly heardAt: [number, number] = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  /** When each node's latest stall ends. */
  private readonly stallEnd: [number, number] = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  /** (boot, seq) of the newest frame each node has been fed from the other in its current boot. */
  private readonly newest: [{ boot: number; seq: number }, { boot: number; seq: number }] = [
    { boot: 0, seq: 0 },
    { boot: 0, seq: 0 },
  ];
  private watch: Watch | undefined;
  /** Failover gaps measured (crash → acquire), for the detection bench. */
  readonly gaps: number[] = [];
  /** Fail when any node transitions (the quiet window). */
  frozen = false;

  constructor(settings: Settings) {
    this.settings = settings;
  }

  private fail(world: World, what: string): never {
    throw new InvariantViolation(`t=${world.now.toFixed(3)}: ${what}`);
  }

  afterStep(
    world: World,
    i: NodeIndex,
    event: ClusterEvent,
    prev: CoreState,
    r: StepResult,
    meta?: FrameMeta,
  ): void {
    const n = world.nodes[i];
    const s = r.state;
    if (s.boot === prev.boot && s.epoch < prev.epoch) {
      this.fail(world, `${n.name} epoch went down ${prev.epoch} → ${s.epoch}`);
    }
    let persisted: number | undefined;
    for (const a of r.actions) {
      switch (a.type) {
        case 'persist-epoch':
          if (a.epoch < prev.persistedEpoch) {
            this.fail(world, `${n.name} persisted epoch ${a.epoch} below ${prev.persistedEpoch}`);
          }
          persisted = a.epoch;
          if (prev.role === 'ACTIVE' && s.role === 'ACTIVE') this.claimAt[i] = world.stats.steps;
          break;
        case 'acquire':
          if (persisted !== a.epoch)
            this.fail(world, `${n.name} acquired epoch ${a.epoch} without persisting it first`);
          this.claimAt[i] = world.stats.steps;
          break;
        case 'exit':
          if (s.role !== 'STOPPED') this.fail(world, `${n.name} exited in role ${s.role}`);
          break;
        case 'transition': {
          if (this.frozen) {
            this.fail(world, `${n.name} ${a.from}→${a.to} (${a.reason}) in the quiet window: flapping`);
          }
          const peer = world.nodes[other(i)];
          // A peer that crashed (or crashed and rebooted) after claiming explains the gap itself.
          if (a.reason === 'handed-over' && peer.up && !peer.vip && peer.boot === s.peer?.boot) {
            this.fail(
              world,
              `${n.name} released after a handover while ${peer.name} did not hold the VIPs: a gap`,
            );
          }
          break;
        }
        default:
          break;
      }
    }
    const holds = n.up ? n.vip : false;
    if (n.up && holds !== (s.role === 'ACTIVE')) {
      this.fail(world, `${n.name} holds VIPs=${holds} in role ${s.role}`);
    }
    if (!n.up && s.role !== 'STOPPED') this.fail(world, `${n.name} went down in role ${s.role}`);
    if (!n.up && prev.role === 'ACTIVE' && r.actions.every((a) => a.type !== 'release')) {
      this.fail(world, `${n.name} exited without releasing`);
    }
    if (event.type === 'frame' && meta !== undefined) {
      // Tracked here, not read from the core, so a core that drops good frames cannot hide it.
      const p = this.newest[i];
      const hb = event.hb;
      if (hb.boot > p.boot || (hb.boot === p.boot && hb.seq > p.seq)) {
        this.newest[i] = { boot: hb.boot, seq: hb.seq };
        this.freshSentAt[i] = meta.sentStep;
        this.heardAt[i] = world.now;
      }
    }
    if (this.watch?.standby === i && n.vip) {
      this.gaps.push(world.now - this.watch.crashedAt);
      this.watch = undefined;
    }
    this.checkHolders(world);
  }

  private checkHolders(world: World): void {
    const [a, b] = world.nodes;
    if (!(a.up && a.vip && b.up && b.vip)) return;
    const t0 = Math.max(this.claimAt[0], this.claimAt[1]);
    if (this.freshSentAt[0] >= t0 && this.freshSentAt[1] >= t0) {
      this.fail(
        world,
        `both nodes hold the VIPs (A e${a.state?.epoch}, B e${b.state?.epoch}) after each processed a frame the other sent at or after step ${t0}`,
      );
    }
  }

  beforeItem(world: World, at: number): void {
    const w = this.watch;
    if (w !== undefined && at > w.deadline && !world.nodes[w.standby].vip) {
      this.fail(
        world,
        `${NAMES[w.standby]} did not take over by ${w.deadline.toFixed(3)} after the active crashed at ${w.crashedAt.toFixed(3)}`,
      );
    }
  }

  onDown(world: World, i: NodeIndex, why: string, held: boolean): void {
    if (this.watch?.standby === i) this.watch = undefined;
    this.freshSentAt[other(i)] = Number.NEGATIVE_INFINITY;
    if (!held || why === 'exit') return;
    const j = other(i);
    const s = world.nodes[j];
    const st = s.state;
    const c = this.settings.configs[j];
    const dead = c.deadMs ?? 0;
    const grace = 2 * (c.keepaliveMs ?? 0);
    const ping = this.settings.pingLatencyMs.max;
    const fence = this.settings.fenceLatencyMs.max;
    const check = c.checkTimeoutMs ?? 0;
    const eligible =
      s.up &&
      st !== undefined &&
      st.role === 'STANDBY' &&
      st.health >= (c.minHealth ?? 0) &&
      st.peerAlive &&
      st.pending === undefined &&
      world.now >= s.stalledUntil &&
      this.stallEnd[j] + grace <= world.now + dead &&
      world.now - this.heardAt[j] < dead &&
      (!c.pingNode || (s.pingReachable && ping < check)) &&
      (!c.fence || (s.fenceWorks && fence < check));
    if (!eligible) return;
    this.watch = {
      standby: j,
      crashedAt: world.now,
      deadline:
        world.now + dead + worstDelayMs(this.settings) + (c.pingNode ? ping : 0) + (c.fence ? fence : 0) + 1,
    };
  }

  onUp(_world: World, i: NodeIndex): void {
    this.claimAt[i] = 0;
    this.newest[i] = { boot: 0, seq: 0 };
    this.freshSentAt[i] = Number.NEGATIVE_INFINITY;
    this.heardAt[i] = Number.NEGATIVE_INFINITY;
    if (this.watch !== undefined && this.watch.standby !== i) this.watch = undefined;
  }

  onDisturb(world: World, i: NodeIndex, what: string): void {
    if (what === 'stall') this.stallEnd[i] = Math.max(this.stallEnd[i], world.nodes[i].stalledUntil);
    if (this.watch?.standby === i) this.watch = undefined;
  }

  onFalseAccept(world: World, i: NodeIndex, detail: string): void {
    this.fail(world, `${NAMES[i]}: the codec ${detail}`);
  }

  /** Ends the run's failover watch (phase change: heal). */
  clearWatch(): void {
    this.watch = undefined;
  }
}
