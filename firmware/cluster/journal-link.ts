/**
 * What the cluster service asks of the journal, and the adapter that does it on the real one. The
 * service only needs four things: the newest epoch the journal knows (at start), leadership when it
 * takes over (`promote`, before any address comes up), following when it steps down (`demote`), and
 * its transitions and alarms in the event log (on the leader: a follower takes no local writes).
 */
import type { Journal } from '../journal/api.ts';
import { JournalError } from '../journal/errors.ts';
import type { EventLevel, JsonValue } from '../journal/types.ts';

export interface JournalRecord {
  level: EventLevel;
  message: string;
  data: JsonValue;
}

export interface ClusterJournal {
  /** The newest epoch the journal has seen (its facts and its replication). */
  knownEpoch(): Promise<number>;
  /**
   * Makes this node the journal's leader in `epoch` and resolves true once that is durable; false when
   * the journal already saw that epoch or a newer one (it stays a follower; the cluster carries on).
   */
  lead(epoch: number): Promise<boolean>;
  /** Stops local writes: the node follows its peer's journal. */
  follow(): Promise<void>;
  /** Appends to the event log while this node leads; does nothing otherwise. */
  record(event: JournalRecord): Promise<void>;
}

export type JournalLinkLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export function clusterJournal(journal: Journal, log: JournalLinkLog = () => {}): ClusterJournal {
  const leads = (): boolean => {
    const s = journal.status();
    return s.role === 'leader' && !s.recovering;
  };
  return {
    knownEpoch: async () => Math.max(journal.cluster.facts().epoch, journal.status().epoch),
    async lead(epoch) {
      try {
        await journal.promote(epoch);
      } catch (err) {
        if (JournalError.is(err, 'JOURNAL_RECOVERING')) {
          // The peer that could resync this journal is gone and the cluster decided to serve: serve, and
          // keep what the journal has; a later resync keeps divergent entries in its conflict table.
          log('error', `journal is recovering: promoting to epoch ${epoch} anyway`);
          await journal.promote(epoch, { force: true });
        } else if (JournalError.is(err, 'JOURNAL_STALE_EPOCH')) {
          log('warn', `journal already saw epoch ${journal.status().epoch} >= ${epoch}: it stays a follower`);
          return false;
        } else throw err;
      }
      // The role row is for people reading the journal: it need not delay the takeover.
      journal.cluster.setRole(journal.node, 'active').catch((err: unknown) => {
        log('warn', `journal role: ${err instanceof Error ? err.message : String(err)}`);
      });
      return true;
    },
    follow: async () => journal.demote(),
    async record(event) {
      if (!leads()) return;
      await journal.events.append({ source: 'cluster', ...event });
    },
  };
}
