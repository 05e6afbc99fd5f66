import { HalError } from '../../../hal/errors.ts';
import type { NamedCounter, PacketFilter, TableRef } from '../../../hal/packetfilter/types.ts';
import { ForwardError } from '../errors.ts';
import type { DesiredForwarding, VirtualService } from '../model.ts';
import { serverKey } from '../model.ts';
import type {
  ApplyResult,
  DataPlane,
  ForwardingCounters,
  ServerCounters,
  ServiceCounters,
  WeightOverrides,
} from '../plane.ts';
import { type Allocation, allocate, EMPTY_ALLOCATION } from './allocation.ts';
import { diffPrograms } from './diff.ts';
import { names } from './names.ts';
import { buildProgram, type NftPlaneOptions, type NftProgram } from './program.ts';
import { BaseTables } from './slots.ts';

export interface NftForwardingOptions extends NftPlaneOptions {
  /**
   * Reads a table's named counters (default: the packet filter's counters(), which lists the table; the
   * forwarding tables hold no big maps, so that stays cheap).
   */
  readCounters?: (table: TableRef, options: { signal?: AbortSignal }) => Promise<readonly NamedCounter[]>;
}

interface Applied {
  readonly desired: DesiredForwarding;
  readonly allocation: Allocation;
  readonly program: NftProgram;
}

/**
 * The nftables data plane. The desired state and the program last applied live here, in memory: a change
 * is a diff against that, never a reading of the kernel's big maps. An apply the kernel refused left the
 * ruleset as it was, so the memory stays right; an apply with an unknown outcome (aborted, timed out, nft
 * killed) makes the next apply rebuild the tables whole.
 */
export class NftForwardingPlane implements DataPlane {
  private applied: Applied | undefined;
  private allocation: Allocation = EMPTY_ALLOCATION;
  private readonly baseTables = new BaseTables();
  private closed = false;

  constructor(
    private readonly pf: PacketFilter,
    private readonly options: NftForwardingOptions,
  ) {}

  async apply(
    desired: DesiredForwarding,
    options: { signal?: AbortSignal; weights?: WeightOverrides } = {},
  ): Promise<ApplyResult> {
    this.checkOpen('apply');
    const allocation = allocate(this.allocation, desired);
    const program = buildProgram(desired, allocation, this.options, options.weights, this.baseTables);
    this.baseTables.keep(new Set(desired.services.map((s) => s.name)));
    const full = this.applied === undefined;
    const { commands, elements } = diffPrograms(this.applied?.program, program);
    if (commands.length > 0) {
      try {
        await this.pf.apply({ nftables: commands }, options.signal ? { signal: options.signal } : {});
      } catch (err) {
        if (!HalError.is(err, 'HAL_INVALID_ARGUMENT')) this.applied = undefined;
        const why = err instanceof Error ? err.message : String(err);
        throw new ForwardError('FORWARD_APPLY_FAILED', `nftables refused the forwarding change: ${why}`, {
          cause: err,
        });
      }
    }
    this.allocation = allocation;
    this.applied = { desired, allocation, program };
    return { full, commands: commands.length, elements };
  }

  async counters(options: { signal?: AbortSignal } = {}): Promise<ForwardingCounters> {
    this.checkOpen('read counters');
    const applied = this.applied;
    if (applied === undefined) return { services: [] };
    const read =
      this.options.readCounters ??
      (async (table: TableRef, o: { signal?: AbortSignal }) => (await this.pf.counters(table, o)).named);
    const byName = new Map<string, NamedCounter>();
    // Only the forwarding tables: the slot maps live in the slot tables, which are never listed.
    for (const key of ['dr', 'nat'] as const) {
      if (applied.program.tables[key] === undefined) continue;
      for (const c of await read(applied.program.refs[key], options)) byName.set(c.name, c);
    }
    return {
      services: applied.desired.services.map((s) => serviceCounters(s, applied.allocation, byName)),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(what: string): void {
    if (this.closed)
      throw new ForwardError('FORWARD_CLOSED', `cannot ${what}: the nftables data plane is closed`);
  }
}

function serviceCounters(
  s: VirtualService,
  allocation: Allocation,
  counters: ReadonlyMap<string, NamedCounter>,
): ServiceCounters {
  const alloc = allocation.services.get(s.name);
  const servers = s.servers.map((r): ServerCounters => {
    const index = alloc?.servers.get(serverKey(s, r)) ?? -1;
    const p = counters.get(names.serverPackets(s.name, index));
    const n = counters.get(names.serverConnections(s.name, index));
    return {
      address: r.address,
      port: r.port,
      packets: p?.packets ?? 0,
      bytes: p?.bytes ?? 0,
      connections: n?.packets ?? 0,
    };
  });
  const own = counters.get(names.serviceCounter(s.name));
  const sum = (f: (x: ServerCounters) => number): number => servers.reduce((a, x) => a + f(x), 0);
  // DR: the service rule sees every client packet. NAT: it sees each connection's first packet only,
  // while the per-server counters in the forward chain see both directions.
  return s.method === 'dr'
    ? {
        name: s.name,
        packets: own?.packets ?? 0,
        bytes: own?.bytes ?? 0,
        connections: sum((x) => x.connections),
        servers,
      }
    : {
        name: s.name,
        packets: sum((x) => x.packets),
        bytes: sum((x) => x.bytes),
        connections: own?.packets ?? 0,
        servers,
      };
}
