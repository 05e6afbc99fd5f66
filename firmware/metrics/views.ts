/**
 * What the metrics process reads from each source, narrowed to what it shows, and the checks that turn
 * a control socket's JSON answer into it. The parsers keep only the fields named here (a newer cluster
 * or supervisor may add more) and reject an answer that lacks one, naming the field.
 */
import { z } from 'zod';
import { MetricsError } from './errors.ts';

const count = z.number().nonnegative();
const counts = z.record(z.string(), count);

const linkSchema = z.object({
  name: z.string(),
  status: z.string(),
  carrier: z.boolean(),
  silentMs: z.number().optional(),
  shell: z
    .object({
      open: z.boolean(),
      medium: z.string(),
      lastError: z.string().optional(),
      counters: z.object({
        framesIn: count,
        framesOut: count,
        bytesIn: count,
        decodeErrors: counts,
        drops: counts,
        opens: count,
      }),
    })
    .optional(),
});

const journalStatusSchema = z.object({
  role: z.string(),
  epoch: z.number(),
  head: z.number(),
  floor: z.number(),
  recovering: z.boolean(),
  relation: z.string(),
  lag: z.number().nullable().optional(),
});

const clusterSchema = z.object({
  nodeId: z.number(),
  role: z.string(),
  epoch: z.number(),
  boot: z.number(),
  health: z.number(),
  peer: z
    .object({
      nodeId: z.number(),
      role: z.string(),
      epoch: z.number(),
      health: z.number(),
      priority: z.number(),
    })
    .optional(),
  peerAlive: z.boolean(),
  links: z.array(linkSchema),
  drops: counts,
  reunionDropped: count.optional(),
  alarms: counts,
  transitions: z.array(z.object({ at: z.number(), from: z.string(), to: z.string(), reason: z.string() })),
  takeover: z
    .object({ desired: z.string(), present: z.array(z.string()), converged: z.boolean() })
    .optional(),
  journal: journalStatusSchema.optional(),
});

const supervisorSchema = z.object({
  services: z.array(
    z.object({
      name: z.string(),
      state: z.string(),
      pid: z.number().nullable().optional(),
      restarts: count,
      critical: z.boolean(),
    }),
  ),
  watchdog: z.object({ fed: z.boolean() }).optional(),
});

export type ClusterView = z.infer<typeof clusterSchema>;
export type LinkView = z.infer<typeof linkSchema>;
export type SupervisorView = z.infer<typeof supervisorSchema>;
export type JournalStatusView = z.infer<typeof journalStatusSchema>;

export interface ServerTraffic {
  /** The real server's address, without the port. */
  readonly address: string;
  /** The destination port on the server, or `*` (the packet's own port). */
  readonly port: string;
  readonly packets: number;
  readonly bytes: number;
  readonly connections: number;
}

export interface ServiceTraffic {
  readonly name: string;
  readonly method: 'dr' | 'nat';
  readonly packets: number;
  readonly bytes: number;
  readonly connections: number;
  readonly servers: readonly ServerTraffic[];
}

export interface TrafficView {
  readonly services: readonly ServiceTraffic[];
}

export interface ServerHealthView {
  readonly service: string;
  /** The server's configured name. */
  readonly server: string;
  readonly state: string;
  readonly detail: string;
  readonly address: string | undefined;
  /** The weight forwarding uses (0 while down); undefined when the monitor did not say. */
  readonly weight: number | undefined;
}

export interface JournalView {
  readonly status: JournalStatusView;
  readonly servers: readonly ServerHealthView[];
}

/** An answer of a JSON-lines control socket: `{ok: …}` or `{error: {code, message}}`. */
function unwrap(source: string, answer: unknown): unknown {
  if (typeof answer === 'object' && answer !== null) {
    if ('ok' in answer) return answer.ok;
    if ('error' in answer) {
      const e = answer.error as { code?: unknown; message?: unknown } | null;
      throw new MetricsError(
        'METRICS_SOURCE_FAILED',
        `${source}: answered ${String(e?.code ?? 'an error')}: ${String(e?.message ?? '')}`.trimEnd(),
      );
    }
  }
  throw new MetricsError('METRICS_BAD_ANSWER', `${source}: answer has neither ok nor error`);
}

function parse<T>(source: string, schema: z.ZodType<T>, answer: unknown): T {
  const result = schema.safeParse(unwrap(source, answer));
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? '(root)' : issue.path.join('.');
  throw new MetricsError('METRICS_BAD_ANSWER', `${source}: status field ${where}: ${issue?.message ?? ''}`);
}

export const parseClusterAnswer = (answer: unknown): ClusterView => parse('cluster', clusterSchema, answer);
export const parseSupervisorAnswer = (answer: unknown): SupervisorView =>
  parse('supervisor', supervisorSchema, answer);
