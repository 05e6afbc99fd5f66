/**
 * The journal source over the journal's access socket (firmware/journal/remote/). It dials on first use
 * (the cluster host may not serve the socket yet when this process starts), then lets the client redial
 * by itself. While the socket is down the client still reads the file as last written; the source reports
 * itself down instead of serving figures that may be stale.
 */
import type { Clock } from '../../hal/clock/types.ts';
import { connectJournal, type RemoteJournal } from '../journal/remote/index.ts';
import { MetricsError } from './errors.ts';
import { journalSource, type SourceCall } from './sources.ts';
import type { JournalView } from './views.ts';

export interface RemoteJournalSource {
  read(call: SourceCall): Promise<JournalView>;
  close(): Promise<void>;
}

export function remoteJournalSource(options: {
  path: string;
  clock: Clock;
  reconnectMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}): RemoteJournalSource {
  let client: RemoteJournal | undefined;
  let connecting: Promise<RemoteJournal> | undefined;
  let closed = false;

  const dial = (signal: AbortSignal): Promise<RemoteJournal> => {
    connecting ??= connectJournal({
      path: options.path,
      signal,
      timeoutMs: 0,
      reconnectMs: options.reconnectMs ?? 1000,
      clock: options.clock,
      ...(options.log === undefined ? {} : { log: options.log }),
    })
      .then(async (c) => {
        if (closed) {
          await c.close();
          throw new MetricsError('METRICS_SOURCE_FAILED', `journal ${options.path}: closed`);
        }
        client = c;
        return c;
      })
      .finally(() => {
        connecting = undefined;
      });
    return connecting;
  };

  return {
    read: async (call) => {
      if (closed) throw new MetricsError('METRICS_SOURCE_FAILED', `journal ${options.path}: closed`);
      const journal = client ?? (await dial(call.signal));
      if (!journal.connected) {
        throw new MetricsError(
          'METRICS_SOURCE_FAILED',
          `journal ${options.path}: the socket is disconnected`,
        );
      }
      return journalSource(journal)(call);
    },
    close: async () => {
      closed = true;
      await connecting?.catch(() => undefined);
      await client?.close();
      client = undefined;
    },
  };
}
