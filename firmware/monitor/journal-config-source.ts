/**
 * The monitor's configuration from the journal: the running configuration's monitor projection (every
 * service with checks, its servers and their checks), followed through config commits. A running
 * document that does not validate leaves the monitor on what it had (the console refuses such commits,
 * so this only guards against a damaged journal) and is logged.
 */
import { monitorInput } from '../config/project.ts';
import { validateConfig } from '../config/validate.ts';
import type { JournalView } from '../journal/api.ts';
import type { MonitorConfigInput } from './config.ts';
import type { Logger, MonitorConfigSource } from './types.ts';

type ConfigJournal = Pick<JournalView, 'config' | 'subscribe'>;

export class JournalMonitorConfigSource implements MonitorConfigSource {
  private last: MonitorConfigInput = { services: [] };

  constructor(
    private readonly journal: ConfigJournal,
    private readonly log: Logger = () => {},
  ) {
    this.last = this.read() ?? this.last;
  }

  /** The projection of the running version, or undefined when it does not validate. */
  private read(): MonitorConfigInput | undefined {
    const running = this.journal.config.running();
    if (running === undefined) return { services: [] };
    const result = validateConfig(running.doc);
    if (!result.ok) {
      const first = result.issues[0];
      this.log('error', `running configuration version ${running.version} is invalid; keeping the last one`, {
        field: first?.path ?? '(root)',
        problem: first?.message,
      });
      return undefined;
    }
    return monitorInput(result.config).input;
  }

  current(): MonitorConfigInput {
    return this.last;
  }

  subscribe(listener: (config: MonitorConfigInput) => void): () => void {
    const sub = this.journal.subscribe(
      () => {
        const next = this.read();
        if (next === undefined) return;
        this.last = next;
        listener(next);
      },
      { kinds: ['config.commit'] },
    );
    return () => sub.close();
  }
}
