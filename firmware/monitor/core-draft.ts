/**
 * The core's working copy for one step (core.ts): reads see the step's own writes, the check table is
 * changed through a persistent vector and the other tables are copied on first write, so the state the
 * step began from is never changed. `freeze()` gives the next state.
 */
import { type RngState, rngNext } from '../../hal/sim/rng.ts';
import type {
  CheckState,
  ComponentState,
  CoreState,
  MonitorAction,
  ServerState,
  ServiceState,
} from './core.ts';
import type { MonitorPlan } from './plan.ts';
import { PVec } from './pvec.ts';

/**
 * A check's next deadline: its probe's timeout while one is in flight (exact), else when the next is due,
 * rounded up to a multiple of `tickMs` (so probes due close together start in one tick).
 */
export function deadlineOf(c: CheckState, tickMs: number): number {
  if (c.probe !== undefined) return c.probe.deadline;
  return tickMs > 0 ? Math.ceil(c.dueAt / tickMs) * tickMs : c.dueAt;
}

export class Draft {
  now: number;
  readonly tickMs: number;
  rng: RngState;
  nextProbeId: number;
  plan: MonitorPlan | undefined;
  /** The checks as the step began, and the ones it changed (read through `check()`). */
  private baseChecks: PVec<CheckState>;
  private changedChecks: Map<number, CheckState> | undefined;
  /** The deadlines as the step began; the changed ones follow from changedChecks. */
  baseDeadlines: PVec<number>;
  servers: readonly ServerState[];
  services: readonly ServiceState[];
  components: readonly ComponentState[];
  carriers: ReadonlyMap<string, boolean>;
  score: number | undefined;
  timeouts: number;
  staleResults: number;
  readonly actions: MonitorAction[] = [];
  private serversOwned = false;
  private servicesOwned = false;
  private componentsOwned = false;
  dirtyServices: Set<number> | undefined;
  dirtyScore = false;
  /** The earliest deadline among checks written in this step. */
  wake = Number.POSITIVE_INFINITY;

  constructor(s: CoreState, now: number) {
    this.now = now;
    this.tickMs = s.tickMs;
    this.rng = s.rng;
    this.nextProbeId = s.nextProbeId;
    this.plan = s.plan;
    this.baseChecks = s.checks;
    this.baseDeadlines = s.deadlines;
    this.servers = s.servers;
    this.services = s.services;
    this.components = s.components;
    this.carriers = s.carriers;
    this.score = s.score;
    this.timeouts = s.counters.timeouts;
    this.staleResults = s.counters.staleResults;
  }

  private readonly deadline = (c: CheckState): number => deadlineOf(c, this.tickMs);

  check(i: number): CheckState | undefined {
    return this.changedChecks?.get(i) ?? this.baseChecks.at(i);
  }

  /** The check as the step began (cheaper: for scans that have not yet written index i). */
  baseCheck(i: number): CheckState | undefined {
    return this.baseChecks.at(i);
  }

  /** The index of the first check satisfying `pred`, or -1. */
  findCheck(pred: (c: CheckState) => boolean): number {
    for (let i = 0; i < this.baseChecks.length; i++) if (pred(this.check(i) as CheckState)) return i;
    return -1;
  }

  setCheck(i: number, c: CheckState): void {
    const t = this.deadline(c);
    if (t < this.wake) this.wake = t;
    this.changedChecks ??= new Map();
    this.changedChecks.set(i, c);
  }

  setServer(i: number, s: ServerState): void {
    if (!this.serversOwned) {
      this.servers = this.servers.slice();
      this.serversOwned = true;
    }
    (this.servers as ServerState[])[i] = s;
  }

  setService(i: number, s: ServiceState): void {
    if (!this.servicesOwned) {
      this.services = this.services.slice();
      this.servicesOwned = true;
    }
    (this.services as ServiceState[])[i] = s;
  }

  setComponent(i: number, c: ComponentState): void {
    if (!this.componentsOwned) {
      this.components = this.components.slice();
      this.componentsOwned = true;
    }
    (this.components as ComponentState[])[i] = c;
  }

  /** Replaces every table (configure builds them anew). */
  replaceAll(
    checks: CheckState[],
    servers: ServerState[],
    services: ServiceState[],
    components: ComponentState[],
  ): void {
    this.baseChecks = PVec.from(checks);
    this.changedChecks = undefined;
    this.baseDeadlines = PVec.from(checks.map(this.deadline));
    this.servers = servers;
    this.services = services;
    this.components = components;
    this.serversOwned = this.servicesOwned = this.componentsOwned = true;
  }

  /** The check table as it stands now in this step. */
  currentChecks(): PVec<CheckState> {
    return this.changedChecks === undefined ? this.baseChecks : this.baseChecks.withAll(this.changedChecks);
  }

  markService(i: number): void {
    this.dirtyServices ??= new Set();
    this.dirtyServices.add(i);
  }

  random(below: number): number {
    if (below <= 0) return 0;
    const [u, next] = rngNext(this.rng);
    this.rng = next;
    return (u / 0x1_0000_0000) * below;
  }

  freeze(): CoreState {
    return {
      now: this.now,
      tickMs: this.tickMs,
      rng: this.rng,
      nextProbeId: this.nextProbeId,
      plan: this.plan,
      checks: this.currentChecks(),
      deadlines:
        this.changedChecks === undefined
          ? this.baseDeadlines
          : this.baseDeadlines.withMapped(this.changedChecks, this.deadline),
      servers: this.servers,
      services: this.services,
      components: this.components,
      carriers: this.carriers,
      score: this.score,
      counters: { timeouts: this.timeouts, staleResults: this.staleResults },
    };
  }
}
