/**
 * The cluster service: the shell around the pure core (core.ts). It feeds the core events (frames from
 * the link shells, one timer tick at the core's next deadline, health scores, carrier changes, operator
 * commands, ping and fence results) and carries out the actions it returns, in order:
 *
 * - `send` goes out at once on every link named (the heartbeat never waits behind anything else);
 * - `persist-epoch`, `acquire`, `release`, `announce` and `exit` run one after another on an effects
 *   queue, so the epoch is durable (boot record, then the journal's `promote`) before the addresses come
 *   up, and a release after an acquire never overtakes it;
 * - `ping-check` and `fence-peer` run concurrently and answer with their result events (a fence aborts
 *   when the core's check timeout passes: a late fence must not pull the line);
 * - `transition` and `alarm` become a structured log line at once and, on the journal's leader, an event
 *   in the journal's log (queued after the batch's promote).
 */
import { join } from 'node:path';
import type { Drivers } from '../../board/wiring.ts';
import type { Clock, Timer } from '../../hal/clock/types.ts';
import { HalError } from '../../hal/errors.ts';
import type { LinkWatch } from '../../hal/net/types.ts';
import type { JsonValue } from '../journal/types.ts';
import type { Takeover, TakeoverStatus } from '../takeover/types.ts';
import { readBootRecord, writeBootRecord } from './boot-record.ts';
import { encodeHeartbeat } from './codec.ts';
import { resolveConfig } from './config.ts';
import { initialState, nextDeadline, step } from './core.ts';
import { ClusterError } from './errors.ts';
import { type Fence, openFence } from './fence.ts';
import type { ClusterJournal, JournalRecord } from './journal-link.ts';
import { startSerialLink } from './links/serial.ts';
import type { HeartbeatLink, LinkStats } from './links/types.ts';
import { startUdpLink } from './links/udp.ts';
import type {
  AlarmCode,
  ClusterAction,
  ClusterConfig,
  ClusterConfigInput,
  ClusterEvent,
  Command,
  CoreState,
  DropCounters,
  Heartbeat,
  LinkName,
  LinkStatus,
  PeerView,
  Role,
  TransitionReason,
} from './types.ts';

export type ClusterLog = (
  level: 'debug' | 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

/** The appliance's health score (0..100) as the monitor computes it. */
export interface HealthSource {
  /** Calls `listener` with the current score (if known) and every change; returns the unsubscribe. */
  subscribe(listener: (score: number) => void): () => void;
}

export interface ClusterServiceConfig {
  /** The core's settings (node id, priority, timers, links, pingNode, fence). */
  core: ClusterConfigInput;
  /** The shared cluster key from provisioning (HMAC-SHA256, at least 16 bytes). */
  key: Uint8Array;
  /** UDP on the heartbeat NIC; required when the links include 'eth'. */
  udp?: { local: string; peer: string; port: number };
  /** The heartbeat port; default: the board's. */
  serial?: { path: string; baudRate: number };
  /** The ping node's address; required when `core.pingNode`. */
  pingAddress?: string;
  /** Length of a fence pulse (default 50 ms); the line is the board's `gpio.peerFence`. */
  fencePulseMs?: number;
  /** The boot record; default `cluster-boot.json` next to the journal. */
  bootRecordPath?: string;
  /**
   * After handing the role over gracefully, how long the old ACTIVE keeps its addresses: the new
   * ACTIVE announces itself the moment it decides, before its addresses are up and announced, and
   * until then clients still send to the old one. Default 150 ms.
   */
  releaseLingerMs?: number;
  /** Feed carrier changes of the heartbeat NIC to the core (default true). */
  watchCarrier?: boolean;
}

export type ClusterDrivers = Pick<Drivers, 'board' | 'clock' | 'serial' | 'net' | 'pinger' | 'gpio'>;

export interface StartClusterOptions {
  drivers: ClusterDrivers;
  config: ClusterServiceConfig;
  journal: ClusterJournal;
  takeover: Takeover;
  health?: HealthSource;
  log?: ClusterLog;
  /** Aborting closes the service (without a graceful leave: send the `leave` command for that). */
  signal?: AbortSignal;
  /**
   * Builds the heartbeat links instead of the serial and UDP shells (a test's in-memory cable). The
   * service gives each accepted frame to `deliver`.
   */
  links?: (deliver: (link: LinkName, hb: Heartbeat) => void) => HeartbeatLink[];
}

export interface LinkStatusView {
  readonly name: LinkName;
  readonly status: LinkStatus;
  readonly carrier: boolean;
  /** Milliseconds since the last accepted frame; undefined when none arrived yet. */
  readonly silentMs: number | undefined;
  readonly shell: LinkStats | undefined;
}

export interface TimerLateness {
  readonly ticks: number;
  readonly maxMs: number;
  /** Ticks that fired more than 5, 10 and 20 ms after their deadline. */
  readonly over5: number;
  readonly over10: number;
  readonly over20: number;
}

export interface ClusterStatus {
  readonly nodeId: number;
  readonly role: Role;
  readonly epoch: number;
  readonly boot: number;
  readonly health: number;
  readonly peer: PeerView | undefined;
  readonly peerAlive: boolean;
  readonly links: readonly LinkStatusView[];
  readonly drops: DropCounters;
  /** Frames not given to the core because a newer one arrived while the peer was silent. */
  readonly reunionDropped: number;
  readonly alarms: Partial<Record<AlarmCode, number>>;
  readonly transitions: readonly { at: number; from: Role; to: Role; reason: TransitionReason }[];
  readonly timer: TimerLateness;
  readonly takeover: TakeoverStatus;
  readonly config: ClusterConfig;
}

export interface ClusterHandle {
  /**
   * Hands an operator command to the core and returns the role after it. Throws the core's
   * ClusterError when the role forbids it (CLUSTER_IMPOSSIBLE_EVENT, CLUSTER_COMMAND_REJECTED).
   */
  command(command: Command): Role;
  status(): ClusterStatus;
  /** Resolves once a graceful leave has finished (the addresses are released). */
  readonly exited: Promise<void>;
  /** Stops the links, timers and checks. The addresses stay as they are. Calling it again is harmless. */
  close(): Promise<void>;
}

/** A tick later than this is taken for a stall of this process (see arm()). */
const STALL_MS = 5;

const text = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function defaultClusterLog(source = 'cluster'): ClusterLog {
  return (level, message, fields) => {
    process.stderr.write(
      `${JSON.stringify({ t: new Date().toISOString(), level, src: source, msg: message, ...fields })}\n`,
    );
  };
}

/** Validates, restores the boot record, reconciles the addresses, opens the links and starts the core. */
export async function startCluster(options: StartClusterOptions): Promise<ClusterHandle> {
  if (options.signal?.aborted) {
    throw new ClusterError('CLUSTER_INVALID_EVENT', 'startCluster: the signal is already aborted');
  }
  const service = new ClusterService(options);
  try {
    await service.start();
  } catch (err) {
    await service.close();
    throw err;
  }
  return service;
}

const ALARM_LEVEL: Record<AlarmCode, 'info' | 'warn' | 'error'> = {
  LINK_WARN: 'warn',
  LINK_DOWN: 'warn',
  LINK_UP: 'info',
  PEER_DEAD: 'error',
  PEER_BACK: 'info',
  PEER_LEFT: 'info',
  PEER_RESTARTED: 'info',
  SPLIT_BRAIN: 'error',
  ISOLATED: 'error',
  FENCE_FAILED: 'error',
  CHECK_TIMEOUT: 'warn',
  HANDOVER_TIMEOUT: 'warn',
  HANDOVER_ABORTED: 'warn',
  EPOCH_RAISED: 'warn',
  NODE_ID_CONFLICT: 'error',
};

class ClusterService implements ClusterHandle {
  private readonly o: StartClusterOptions;
  private readonly clock: Clock;
  private readonly log: ClusterLog;
  private readonly config: ClusterConfig;
  private readonly key: Uint8Array;
  private readonly bootPath: string;
  private state: CoreState | undefined;
  private readonly links = new Map<LinkName, HeartbeatLink>();
  private timer: Timer | undefined;
  private armedAt: number | undefined;
  private readonly lateness = { ticks: 0, maxMs: 0, over5: 0, over10: 0, over20: 0 };
  private effects: Promise<void> = Promise.resolve();
  private durableEpoch = 0;
  private readonly checks = new Set<AbortController>();
  private readonly records: JournalRecord[] = [];
  private readonly alarms: Partial<Record<AlarmCode, number>> = {};
  private readonly transitions: { at: number; from: Role; to: Role; reason: TransitionReason }[] = [];
  private fence: Fence | undefined;
  private watch: LinkWatch | undefined;
  private unsubscribeHealth: (() => void) | undefined;
  /** Frames held while the peer was silent (see `deliver`). */
  private reunion:
    | { best: { link: LinkName; hb: Heartbeat } | undefined; held: number; timer: Timer }
    | undefined;
  private reunionDropped = 0;
  private stepping = false;
  private readonly queued: ClusterEvent[] = [];
  private closed = false;
  private closing: Promise<void> | undefined;
  private resolveExited: () => void = () => {};
  readonly exited: Promise<void>;
  private readonly onAbort = (): void => {
    void this.close();
  };

  constructor(o: StartClusterOptions) {
    this.o = o;
    this.clock = o.drivers.clock;
    this.log = o.log ?? defaultClusterLog();
    this.config = resolveConfig(o.config.core);
    this.key = o.config.key;
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve;
    });
    const c = this.config;
    if (c.pingNode && o.config.pingAddress === undefined) {
      throw new ClusterError('CLUSTER_INVALID_CONFIG', 'core.pingNode is on but pingAddress is missing');
    }
    if (c.links.includes('eth') && o.config.udp === undefined && o.links === undefined) {
      throw new ClusterError(
        'CLUSTER_INVALID_CONFIG',
        "links include 'eth' but udp { local, peer, port } is missing",
      );
    }
    if (c.fence && o.drivers.board.gpio.peerFence === null) {
      throw new ClusterError(
        'CLUSTER_INVALID_CONFIG',
        `core.fence is on but board ${o.drivers.board.name} has no peer-fence line`,
      );
    }
    this.bootPath =
      o.config.bootRecordPath ?? join(o.drivers.board.storage.journalPath, '..', 'cluster-boot.json');
  }

  async start(): Promise<void> {
    const o = this.o;
    const { record, problem } = readBootRecord(this.bootPath, this.clock.wallTime());
    if (problem !== undefined) this.log('error', `boot record: ${problem}; boot counter from the clock`);
    const boot = record.boot + 1;
    const epoch = Math.max(record.epoch, await o.journal.knownEpoch());
    writeBootRecord(this.bootPath, { boot, epoch });
    this.durableEpoch = epoch;
    // A node starts as a follower everywhere: only the core's decision makes it a leader again.
    await o.journal.follow();
    try {
      await o.takeover.reconcile();
    } catch (err) {
      this.log('error', `start: leftover addresses not reconciled yet (retrying): ${text(err)}`);
    }
    if (this.config.fence) {
      const line = o.drivers.board.gpio.peerFence;
      if (line !== null) {
        try {
          this.fence = await openFence({
            gpio: o.drivers.gpio,
            chip: o.drivers.board.gpio.chip,
            line: line.line,
            activeLow: line.activeLow,
            pulseMs: o.config.fencePulseMs ?? 50,
            clock: this.clock,
          });
        } catch (err) {
          this.log('error', `fence line unavailable: every fence will fail: ${text(err)}`);
        }
      }
    }
    this.openLinks();
    this.state = initialState(this.config, { boot, now: this.clock.now(), epoch });
    this.log('info', 'starting', { nodeId: this.config.nodeId, boot, epoch, links: [...this.config.links] });
    this.dispatch({ type: 'start' });
    if (o.health)
      this.unsubscribeHealth = o.health.subscribe((score) => this.feed({ type: 'health', score }));
    if (this.config.links.includes('eth') && o.config.watchCarrier !== false) void this.watchCarrier();
    o.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  command(command: Command): Role {
    if (this.closed || this.state === undefined) {
      throw new ClusterError('CLUSTER_IMPOSSIBLE_EVENT', `command ${command}: the service is not running`);
    }
    this.log('info', `operator command ${command}`);
    this.dispatch({ type: 'command', command }, true);
    return this.state.role;
  }

  status(): ClusterStatus {
    const s = this.state;
    if (s === undefined)
      throw new ClusterError('CLUSTER_IMPOSSIBLE_EVENT', 'status: the service has not started');
    const now = this.clock.now();
    return {
      nodeId: s.config.nodeId,
      role: s.role,
      epoch: s.epoch,
      boot: s.boot,
      health: s.health,
      peer: s.peer,
      peerAlive: s.peerAlive,
      links: s.links.map((l) => ({
        name: l.name,
        status: l.status,
        carrier: l.carrier,
        silentMs: l.lastHeardAt === undefined ? undefined : now - l.lastHeardAt,
        shell: this.links.get(l.name)?.stats(),
      })),
      drops: s.drops,
      reunionDropped: this.reunionDropped,
      alarms: { ...this.alarms },
      transitions: [...this.transitions],
      timer: { ...this.lateness },
      takeover: this.o.takeover.status(),
      config: s.config,
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.o.signal?.removeEventListener('abort', this.onAbort);
      this.timer?.cancel();
      this.timer = undefined;
      this.reunion?.timer.cancel();
      this.unsubscribeHealth?.();
      for (const c of this.checks) c.abort();
      await this.watch?.close();
      await Promise.all([...this.links.values()].map((l) => l.close()));
      await this.effects;
      await this.fence?.close();
    })();
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------------
  // Events in

  private openLinks(): void {
    const o = this.o;
    const deliver = (link: LinkName, hb: Heartbeat): void => this.deliver(link, hb);
    const linkLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string): void =>
      this.log(level, message);
    const built: HeartbeatLink[] = [];
    if (o.links) built.push(...o.links(deliver));
    else {
      for (const name of this.config.links) {
        if (name === 'serial') {
          const port = o.config.serial ?? o.drivers.board.serial.heartbeat;
          built.push(
            startSerialLink({
              serial: o.drivers.serial,
              path: port.path,
              baudRate: port.baudRate,
              key: this.key,
              clock: this.clock,
              sink: (hb) => deliver('serial', hb),
              log: linkLog,
            }),
          );
        } else if (o.config.udp) {
          built.push(
            startUdpLink({
              ...o.config.udp,
              key: this.key,
              clock: this.clock,
              sink: (hb) => deliver('eth', hb),
              log: linkLog,
            }),
          );
        }
      }
    }
    for (const l of built) this.links.set(l.name, l);
  }

  private async watchCarrier(): Promise<void> {
    const nic = this.o.drivers.board.nics.heartbeat;
    let carrier: boolean | undefined;
    try {
      const watch = await this.o.drivers.net.watchLinks();
      if (this.closed) {
        await watch.close();
        return;
      }
      this.watch = watch;
      carrier = (await this.o.drivers.net.links()).find((l) => l.name === nic)?.carrier;
      this.log('debug', `watching the carrier of ${nic} (now ${carrier ? 'up' : 'down'})`);
      for await (const ev of watch) {
        if (ev.link.name !== nic || ev.kind === 'removed' || ev.link.carrier === carrier) continue;
        carrier = ev.link.carrier;
        this.log('debug', `${nic} carrier ${carrier ? 'up' : 'down'}`);
        this.feed({ type: 'carrier', link: 'eth', up: carrier });
      }
    } catch (err) {
      if (!this.closed) this.log('warn', `carrier watch on ${nic} ended: ${text(err)}`);
    }
  }

  /**
   * While the peer is silent (at start, or after every link went down) frames may arrive in a burst
   * that queued on the way: a NIC without carrier keeps what was sent into it and lets it all out when
   * the cable returns, the oldest first. Acting on those in order would make this node decide on what
   * the peer was long ago (a STANDBY that has since taken over). So for two keepalives after the first
   * frame only the newest one is kept, then given to the core; the rest are counted as dropped.
   */
  private deliver(link: LinkName, hb: Heartbeat): void {
    if (this.closed || this.state === undefined || this.state.role === 'STOPPED') return;
    if (this.state.peerAlive && this.reunion === undefined) {
      this.feed({ type: 'frame', link, hb });
      return;
    }
    if (this.reunion === undefined) {
      const timer = this.clock.setTimer(2 * this.config.keepaliveMs, () => {
        const r = this.reunion;
        this.reunion = undefined;
        if (r === undefined) return;
        this.reunionDropped += r.held - 1;
        if (r.best) this.feed({ type: 'frame', link: r.best.link, hb: r.best.hb });
      });
      this.reunion = { best: undefined, held: 0, timer };
    }
    const r = this.reunion;
    r.held += 1;
    const b = r.best?.hb;
    if (b === undefined || hb.boot > b.boot || (hb.boot === b.boot && hb.seq > b.seq)) r.best = { link, hb };
  }

  /** An event from outside the core's own loop (frames, health, carrier, results). */
  private feed(event: ClusterEvent): void {
    // A node that left takes no more input: the core has no transitions out of STOPPED.
    if (this.state?.role === 'STOPPED') return;
    try {
      this.dispatch(event);
    } catch (err) {
      this.log('error', `the core refused a ${event.type} event: ${text(err)}`);
    }
  }

  private dispatch(event: ClusterEvent, rethrow = false): void {
    if (this.closed || this.state === undefined) return;
    if (this.stepping) {
      this.queued.push(event);
      return;
    }
    this.stepping = true;
    try {
      const result = step(this.state, event, this.clock.now());
      this.state = result.state;
      this.execute(result.actions);
    } catch (err) {
      if (rethrow) throw err;
      this.log('error', `the core refused a ${event.type} event: ${text(err)}`);
    } finally {
      this.stepping = false;
    }
    this.arm();
    const next = this.queued.shift();
    if (next !== undefined) this.feed(next);
  }

  /** The one timer, at the core's next deadline. */
  private arm(): void {
    if (this.closed || this.state === undefined) return;
    const at = nextDeadline(this.state);
    if (at === this.armedAt && this.timer !== undefined) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.armedAt = at;
    if (at === undefined) return;
    this.timer = this.clock.setTimer(Math.max(0, at - this.clock.now()), () => {
      this.timer = undefined;
      this.armedAt = undefined;
      const late = this.clock.now() - at;
      const l = this.lateness;
      l.ticks += 1;
      l.maxMs = Math.max(l.maxMs, late);
      if (late > 5) l.over5 += 1;
      if (late > 10) l.over10 += 1;
      if (late > 20) l.over20 += 1;
      // A late timer means this process stalled (GC, start-up, load): frames that arrived meanwhile still
      // wait in the sockets, and timers run before I/O. Judge the peer's silence after reading them.
      if (late > STALL_MS) setImmediate(() => this.closed || this.feed({ type: 'tick' }));
      else this.feed({ type: 'tick' });
    });
  }

  // -------------------------------------------------------------------------------------------------
  // Actions out

  private execute(actions: readonly ClusterAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          this.send(a.links, a.hb);
          break;
        case 'persist-epoch':
          this.effect(`persist epoch ${a.epoch}`, () => this.persistEpoch(a.epoch));
          break;
        case 'acquire':
          this.effect(`acquire (epoch ${a.epoch})`, () => this.acquire(a.epoch));
          break;
        case 'release': {
          const handedOver = actions.some((x) => x.type === 'transition' && x.reason === 'handed-over');
          this.effect('release', () => this.release(handedOver));
          break;
        }
        case 'announce':
          this.effect('announce', async () => this.o.takeover.announce());
          break;
        case 'ping-check':
          this.pingCheck(a.id);
          break;
        case 'fence-peer':
          this.fencePeer(a.id);
          break;
        case 'alarm':
          this.alarms[a.code] = (this.alarms[a.code] ?? 0) + 1;
          this.note(ALARM_LEVEL[a.code], `alarm ${a.code}: ${a.detail}`, {
            alarm: a.code,
            ...(a.link === undefined ? {} : { link: a.link }),
          });
          break;
        case 'transition':
          this.transitions.push({ at: this.clock.now(), from: a.from, to: a.to, reason: a.reason });
          if (this.transitions.length > 50) this.transitions.shift();
          this.note(a.to === 'FAULT' ? 'warn' : 'info', `role ${a.from} -> ${a.to} (${a.reason})`, {
            from: a.from,
            to: a.to,
            reason: a.reason,
            epoch: this.state?.epoch ?? 0,
          });
          break;
        case 'exit':
          this.effect('exit', async () => this.resolveExited());
          break;
      }
    }
    // The core re-announces when it meets a second ACTIVE; but after a partition the loser may already
    // have stepped down before its frames got here, and clients may still hold its MAC for our VIPs.
    const back = actions.some((a) => a.type === 'alarm' && a.code === 'PEER_BACK');
    if (back && this.state?.role === 'ACTIVE' && !actions.some((a) => a.type === 'announce')) {
      this.effect('announce (peer back)', async () => this.o.takeover.announce());
    }
    if (this.records.length > 0) {
      const batch = this.records.splice(0);
      this.effect('journal events', async () => this.appendEvents(batch));
    }
  }

  private send(links: readonly LinkName[], hb: Heartbeat): void {
    let frame: Buffer;
    try {
      frame = encodeHeartbeat(hb, this.key);
    } catch (err) {
      this.log('error', `cannot encode a heartbeat: ${text(err)}`);
      return;
    }
    for (const name of links) this.links.get(name)?.send(frame);
  }

  /** Queues `fn` behind every earlier effect; a failure is logged and does not stop the queue. */
  private effect(what: string, fn: () => Promise<void>): void {
    this.effects = this.effects.then(fn).catch((err: unknown) => {
      this.log('error', `${what} failed: ${text(err)}`);
    });
  }

  private async persistEpoch(epoch: number): Promise<void> {
    writeBootRecord(this.bootPath, { boot: this.state?.boot ?? 0, epoch });
    this.durableEpoch = Math.max(this.durableEpoch, epoch);
    await this.o.journal.lead(epoch);
  }

  private async acquire(epoch: number): Promise<void> {
    if (this.durableEpoch < epoch) {
      throw new ClusterError('CLUSTER_IMPOSSIBLE_EVENT', `epoch ${epoch} is not durable: not acquiring`);
    }
    if (this.state?.role !== 'ACTIVE') return; // released again before the queue got here
    await this.o.takeover.acquire(epoch);
  }

  private async release(handedOver: boolean): Promise<void> {
    const linger = this.o.config.releaseLingerMs ?? 150;
    if (handedOver && linger > 0) await this.clock.sleep(linger);
    if (this.state?.role === 'ACTIVE') return; // active again: nothing to release
    await this.o.takeover.release();
    await this.o.journal.follow();
  }

  private note(level: 'info' | 'warn' | 'error', message: string, data: Record<string, JsonValue>): void {
    this.log(level, message, data);
    this.records.push({ level, message, data });
  }

  private async appendEvents(batch: readonly JournalRecord[]): Promise<void> {
    for (const r of batch) await this.o.journal.record(r).catch(() => {});
  }

  private pingCheck(id: number): void {
    const address = this.o.config.pingAddress as string;
    const budget = Math.max(1, this.config.checkTimeoutMs * 0.8);
    const ctl = new AbortController();
    this.checks.add(ctl);
    const attempt = async (delay: number): Promise<true> => {
      if (delay > 0) await this.clock.sleep(delay, { signal: ctl.signal });
      await this.o.drivers.pinger.ping(address, { timeoutMs: budget - delay, signal: ctl.signal });
      return true;
    };
    // Three staggered echoes share the budget: one lost packet must not read as "isolated".
    Promise.any([attempt(0), attempt(budget / 3), attempt((2 * budget) / 3)])
      .then(
        () => true,
        (err: unknown) => {
          const errors = err instanceof AggregateError ? err.errors : [err];
          const odd = errors.find((e) => !HalError.is(e, 'HAL_TIMEOUT') && !HalError.is(e, 'HAL_CANCELED'));
          if (odd !== undefined) this.log('warn', `ping node ${address}: ${text(odd)}`);
          return false;
        },
      )
      .then((reachable) => {
        ctl.abort();
        this.checks.delete(ctl);
        this.feed({ type: 'ping-result', id, reachable });
      });
  }

  private fencePeer(id: number): void {
    const ctl = new AbortController();
    this.checks.add(ctl);
    const timer = this.clock.setTimer(this.config.checkTimeoutMs, () => ctl.abort());
    const fence = this.fence;
    const pulse = fence === undefined ? Promise.resolve(false) : fence.pulse(ctl.signal);
    pulse
      .catch((err: unknown) => {
        this.log('error', `fence pulse failed: ${text(err)}`);
        return false;
      })
      .then((ok) => {
        timer.cancel();
        this.checks.delete(ctl);
        this.feed({ type: 'fence-result', id, ok });
      });
  }
}
