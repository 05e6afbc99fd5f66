/**
 * The console backend on what every appliance has now: the journal (configuration, event log, status,
 * the facts the services record) and, when the board has one, the ICMP pinger. The members for services
 * not wired yet (links, traffic, failover, maintenance, reboot, update) are left out, so the console says
 * they are not available; the supervisor adds them as those services land (`{ ...journalBackend(…), failover }`).
 */
import type { Pinger } from '../../hal/icmp/types.ts';
import type { JournalView } from '../journal/api.ts';
import type { LoggedEvent } from '../journal/index.ts';
import type { ConsoleBackend, VersionInfo } from './backend.ts';

export interface JournalBackendOptions {
  hostname: string;
  version: VersionInfo;
  pinger?: Pinger;
}

export function journalBackend(journal: JournalView, options: JournalBackendOptions): ConsoleBackend {
  const pinger = options.pinger;
  return {
    hostname: () => options.hostname,
    role: () => journal.cluster.facts().roles[journal.node] ?? 'unknown',
    version: () => options.version,
    config: journal.config,
    journal: () => ({ status: journal.status(), recovery: journal.recovery }),
    log: (limit) => newestEvents(journal, limit),
    clusterFacts: () => journal.cluster.facts(),
    health: (service, server) => journal.health.get(`${service}/${server}`),
    audit: async (message) => {
      await journal.events.append({ level: 'audit', source: 'console', message });
    },
    ...(pinger === undefined
      ? {}
      : {
          ping: async (address, { timeoutMs, signal }) => {
            const r = await pinger.ping(address, { timeoutMs, signal });
            return { rttMs: r.rttMs, ttl: r.ttl };
          },
        }),
  };
}

/**
 * The newest `limit` events, oldest first. The log is read forwards from a seq, so look back from the
 * head in growing steps until enough events (or the whole log) are in view.
 */
function newestEvents(journal: JournalView, limit: number): LoggedEvent[] {
  const head = journal.status().head;
  for (let span = Math.max(64, limit * 4); ; span *= 4) {
    const after = Math.max(0, head - span);
    const events = journal.events.list({ afterSeq: after, limit: span });
    if (events.length >= limit || after === 0) return events.slice(-limit);
  }
}
