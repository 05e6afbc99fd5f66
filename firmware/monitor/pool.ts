/**
 * Bounded concurrency for probes: at most `max` run at once, the rest wait in FIFO order. A job that was
 * queued is told when it starts (so the core can start its timeout then); a queued job can be dropped.
 */
export interface PoolJob {
  readonly id: number;
  run(): Promise<void>;
  /** Called when a job that had to wait gets its slot (not when it starts at once). */
  startedLate(): void;
}

export class ProbePool {
  private readonly queue = new Map<number, PoolJob>();
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private max: number) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.queue.size;
  }

  setMax(max: number): void {
    this.max = max;
    this.pump();
  }

  /** Starts `job` now if a slot is free (returns true), else queues it. */
  submit(job: PoolJob): boolean {
    if (this.active < this.max) {
      this.start(job);
      return true;
    }
    this.queue.set(job.id, job);
    return false;
  }

  /** Drops a job that has not started; true when it was waiting. */
  drop(id: number): boolean {
    return this.queue.delete(id);
  }

  /** Drops every waiting job. */
  clear(): void {
    this.queue.clear();
  }

  /** Resolves once nothing runs (call after clear() to wait for shutdown). */
  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private start(job: PoolJob): void {
    this.active++;
    // run() never rejects (the shell wraps checks); settling either way frees the slot.
    job.run().then(this.release, this.release);
  }

  private readonly release = (): void => {
    this.active--;
    this.pump();
    if (this.active === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  private pump(): void {
    while (this.active < this.max && this.queue.size > 0) {
      const [id, job] = this.queue.entries().next().value as [number, PoolJob];
      this.queue.delete(id);
      this.start(job);
      job.startedLate();
    }
  }
}
