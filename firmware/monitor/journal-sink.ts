/**
 * The monitor's HealthSink on the journal: every record becomes a health row, so it replicates to the
 * standby like any other entry. Keys: `<service>/<server>` for real servers, and reserved keys starting
 * with `@` (service and server names cannot) for quorum, sorry-server and appliance records. Writes go
 * to the leader only: on a standby the journal refuses with JOURNAL_NOT_LEADER and this sink rejects with
 * that error, so the monitor holds the record and offers it again.
 */
import type { JournalView } from '../journal/api.ts';
import type { HealthState, JsonObject, JsonValue } from '../journal/types.ts';
import type {
  ApplianceHealthRecord,
  HealthSink,
  QuorumRecord,
  ServerHealthRecord,
  SorryRecord,
} from './types.ts';

export const APPLIANCE_KEY = '@appliance';

export function serverHealthKey(service: string, server: string): string {
  return `${service}/${server}`;
}

/** Row state 'up' while the quorum is met. */
export function quorumKey(service: string): string {
  return `@quorum/${service}`;
}

/** Row state 'up' while the sorry server is in use (no real server of the service is up). */
export function sorryKey(service: string): string {
  return `@sorry/${service}`;
}

type HealthJournal = Pick<JournalView, 'health' | 'status'>;

export class JournalHealthSink implements HealthSink {
  constructor(private readonly journal: HealthJournal) {}

  /**
   * Only the leader skips a write the table already holds: elsewhere the journal's refusal must reach the
   * monitor even when the replicated row happens to match.
   */
  private leads(): boolean {
    return this.journal.status().role === 'leader';
  }

  /** Writes the row unless it already says the same (`cause` says why, not what, so it is not compared). */
  private async put(key: string, state: HealthState, detail: string, data: JsonObject): Promise<void> {
    const row = this.journal.health.get(key);
    const held = row !== undefined && row.state === state && row.detail === detail && same(row.data, data);
    if (held && this.leads()) return;
    await this.journal.health.set(key, state, detail, data);
  }

  server(r: ServerHealthRecord): Promise<void> {
    return this.put(serverHealthKey(r.service, r.server), r.state, r.reason, {
      service: r.service,
      server: r.server,
      address: r.address,
      port: r.port,
      action: r.action,
      weight: r.weight,
      cause: r.cause,
    });
  }

  async serverRemoved(r: { readonly service: string; readonly server: string }): Promise<void> {
    const key = serverHealthKey(r.service, r.server);
    if (this.journal.health.get(key) !== undefined || !this.leads()) await this.journal.health.delete(key);
  }

  quorum(r: QuorumRecord): Promise<void> {
    const detail = `live weight ${r.liveWeight}, quorum ${r.quorum} +/- ${r.hysteresis}`;
    return this.put(quorumKey(r.service), r.met ? 'up' : 'down', detail, {
      service: r.service,
      met: r.met,
      liveWeight: r.liveWeight,
      quorum: r.quorum,
      hysteresis: r.hysteresis,
      cause: r.cause,
    });
  }

  sorry(r: SorryRecord): Promise<void> {
    const detail = r.active ? `sorry server ${r.address}:${r.port} in use` : 'real servers in use';
    return this.put(sorryKey(r.service), r.active ? 'up' : 'down', detail, {
      service: r.service,
      active: r.active,
      address: r.address,
      port: r.port,
      cause: r.cause,
    });
  }

  applianceHealth(r: ApplianceHealthRecord): Promise<void> {
    const failing = r.components.filter((c) => !c.healthy).map((c) => `${c.kind} ${c.name}: ${c.detail}`);
    const components: JsonValue[] = r.components.map((c) => ({
      name: c.name,
      kind: c.kind,
      healthy: c.healthy,
      weight: c.weight,
      detail: c.detail,
    }));
    return this.put(
      APPLIANCE_KEY,
      failing.length === 0 ? 'up' : 'down',
      `score ${r.score}${failing.map((f) => `; ${f}`).join('')}`,
      {
        score: r.score,
        components,
      },
    );
  }
}

function same(stored: JsonValue, data: JsonObject): boolean {
  const { cause: _a, ...a } = (stored ?? {}) as JsonObject;
  const { cause: _b, ...b } = data;
  return JSON.stringify(a) === JSON.stringify(b);
}
