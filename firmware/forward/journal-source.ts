/**
 * The forwarding service's desired state from the journal: the running configuration's forwarding
 * projection, with each real server lowered by the monitor's health row `<service>/<server>`. A server
 * the monitor reports down is drained (action quiesce: weight 0 for new flows, existing ones stay) or
 * taken out (action remove); health never raises a server above its configured state.
 */
import { forwardingInput } from '../config/project.ts';
import { validateConfig } from '../config/validate.ts';
import type { JournalView } from '../journal/api.ts';
import type { ServerHealth } from '../journal/health.ts';
import type { Entry } from '../journal/types.ts';
import { ForwardError } from './errors.ts';
import type { DesiredInput, ServerState } from './model.ts';
import type { ForwardingSource } from './source.ts';

type ForwardJournal = Pick<JournalView, 'config' | 'health' | 'subscribe'>;

const RANK: Record<ServerState, number> = { up: 0, drain: 1, down: 2 };

/** What a health row asks of forwarding; undefined: nothing (up, unknown, or no row). */
export function healthState(row: ServerHealth | undefined): ServerState | undefined {
  if (row === undefined || row.state !== 'down') return undefined;
  const data = row.data;
  const action = typeof data === 'object' && data !== null && !Array.isArray(data) ? data.action : undefined;
  return action === 'quiesce' ? 'drain' : 'down';
}

function lower(configured: ServerState, health: ServerState | undefined): ServerState {
  return health !== undefined && RANK[health] > RANK[configured] ? health : configured;
}

/** Real-server rows and configuration commits change the desired state; `@…` records do not. */
function relevant(e: Entry): boolean {
  if (e.kind === 'config.commit') return true;
  return (e.kind === 'health.set' || e.kind === 'health.delete') && !e.value.server.startsWith('@');
}

export class JournalForwardingSource implements ForwardingSource {
  constructor(private readonly journal: ForwardJournal) {}

  /** Throws FORWARD_INVALID_CONFIG when the running document does not validate (the service keeps the old). */
  current(): DesiredInput {
    const running = this.journal.config.running();
    if (running === undefined) return { services: [] };
    const result = validateConfig(running.doc);
    if (!result.ok) {
      const first = result.issues[0];
      throw new ForwardError(
        'FORWARD_INVALID_CONFIG',
        `forwarding: running configuration version ${running.version} is invalid: ${first?.path ?? '(root)'} ${first?.message ?? ''}`.trimEnd(),
        { field: first?.path ?? '(root)' },
      );
    }
    const config = result.config;
    const input = forwardingInput(config);
    return {
      ...input,
      services: input.services.map((service, i) => ({
        ...service,
        servers: (service.servers ?? []).map((server, j) => {
          const name = config.services[i]?.servers[j]?.name ?? '';
          const row = this.journal.health.get(`${service.name}/${name}`);
          return { ...server, state: lower(server.state ?? 'up', healthState(row)) };
        }),
      })),
    };
  }

  subscribe(listener: () => void): () => void {
    const sub = this.journal.subscribe(
      (item) => {
        if (item.type === 'reset' || item.entries.some(relevant)) listener();
      },
      { kinds: ['config.commit', 'health.'] },
    );
    return () => sub.close();
  }
}
