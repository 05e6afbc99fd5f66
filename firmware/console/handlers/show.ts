/** The `show` commands: each reads the backend and prints an aligned table or key/value list. */

import { type ApplianceConfig, configSchema } from '../../config/schema.ts';
import { renderPath } from '../../config/validate.ts';
import { diffConfig, formatDiff } from '../../journal/diff.ts';
import type { ConfigDoc } from '../../journal/types.ts';
import type { ConsoleBackend } from '../backend.ts';
import { ConsoleError, unavailable } from '../errors.ts';
import { renderPairs, renderTable } from '../table.ts';
import { type CommandContext, type Handler, jsonLines, redact, wallText } from './context.ts';

const LINKS = 'heartbeat link status (the cluster service)';
const TRAFFIC = 'traffic counters (the forwarding service)';

/** The running configuration, typed; an empty one before the first commit. */
function running(backend: ConsoleBackend): { version: number; config: ApplianceConfig } {
  const v = backend.config.running();
  if (v === undefined) return { version: 0, config: configSchema.parse({}) };
  const parsed = configSchema.safeParse(v.doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConsoleError(
      'CONSOLE_REFUSED',
      `the running configuration (version ${v.version}) does not fit this firmware: ${
        issue
          ? `${renderPath(
              v.doc,
              issue.path.map((p) => (typeof p === 'number' ? p : String(p))),
            )}: ${issue.message}`
          : 'unknown problem'
      }`,
    );
  }
  return { version: v.version, config: parsed.data };
}

function healthCounts(
  backend: ConsoleBackend,
  config: ApplianceConfig,
): { up: number; down: number; none: number } {
  const out = { up: 0, down: 0, none: 0 };
  for (const s of config.services) {
    for (const r of s.servers) {
      const state = backend.health(s.name, r.name)?.state;
      if (state === 'up') out.up++;
      else if (state === 'down') out.down++;
      else out.none++;
    }
  }
  return out;
}

function attempt(what: () => string): string {
  try {
    return what();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const showStatus: Handler = async ({ backend, term }) => {
  const v = backend.version();
  const j = backend.journal().status;
  const pairs: [string, string][] = [
    ['Host name', backend.hostname()],
    ['Node', v.node],
    ['Role', backend.role()],
    ['Firmware', v.firmware],
    [
      'Journal',
      `${j.role}, epoch ${j.epoch}, head ${j.head}, peer ${j.relation}${j.lag === undefined ? '' : `, lag ${j.lag}`}${j.recovering ? ', RECOVERING' : ''}`,
    ],
    [
      'Configuration',
      attempt(() => {
        const r = backend.config.running();
        const c = backend.config.candidate();
        const base =
          r === undefined ? 'none committed yet' : `version ${r.version} by ${r.author} at ${wallText(r.at)}`;
        return c === undefined ? base : `${base}; a candidate is being edited (by ${c.author})`;
      }),
    ],
    [
      'Services',
      attempt(() => {
        const { config } = running(backend);
        const servers = config.services.reduce((n, s) => n + s.servers.length, 0);
        const h = healthCounts(backend, config);
        return `${config.services.length} virtual, ${servers} real servers (${h.up} up, ${h.down} down, ${h.none} without a health record)`;
      }),
    ],
    [
      'Links',
      attempt(() => {
        if (!backend.links) throw unavailable(LINKS);
        return (
          backend
            .links()
            .map((l) => `${l.name} ${l.status}`)
            .join(', ') || 'none'
        );
      }),
    ],
  ];
  term.print(...renderPairs(pairs));
};

const showVersion: Handler = async ({ backend, term }) => {
  const v = backend.version();
  term.print(
    ...renderPairs([
      ['Firmware', `Tandem ${v.firmware}`],
      ['Board', v.board],
      ['Node', v.node],
      ['Host name', backend.hostname()],
      ...(v.bootSlot === undefined ? [] : ([['Boot slot', v.bootSlot]] as [string, string][])),
    ]),
  );
};

const showCluster: Handler = async ({ backend, term }) => {
  const facts = backend.clusterFacts();
  const nodes = [...new Set([...Object.keys(facts.roles), ...Object.keys(facts.peers)])].sort();
  term.print(
    ...renderPairs([
      ['Epoch', facts.epoch],
      ['Leader', facts.leader ?? '-'],
    ]),
    '',
  );
  if (nodes.length === 0) {
    term.print('The journal holds no roles or peers yet (the cluster service records them).');
    return;
  }
  term.print(
    ...renderTable(
      [
        { title: 'Node' },
        { title: 'Role' },
        { title: 'Peer address' },
        { title: 'Peer state' },
        { title: 'Peer seen' },
      ],
      nodes.map((n) => {
        const p = facts.peers[n];
        return [n, facts.roles[n] ?? '-', p?.address || '-', p?.state ?? '-', wallText(p?.seenAt)];
      }),
    ),
  );
};

const showLinks: Handler = async ({ backend, term }) => {
  if (!backend.links) throw unavailable(LINKS);
  const links = backend.links();
  term.print(
    ...renderTable(
      [{ title: 'Link' }, { title: 'Status' }, { title: 'Silent ms', align: 'right' }, { title: 'Detail' }],
      links.map((l) => [
        l.name,
        l.status,
        l.silentMs === undefined ? 'never heard' : Math.round(l.silentMs),
        l.detail,
      ]),
    ),
  );
};

const showServices: Handler = async ({ backend, term }) => {
  const { version, config } = running(backend);
  if (config.services.length === 0) {
    term.print(
      version === 0 ? 'No configuration has been committed yet.' : 'No virtual services are configured.',
    );
    return;
  }
  const traffic = backend.traffic?.();
  const rows = config.services.map((s) => {
    const up = s.servers.filter((r) => backend.health(s.name, r.name)?.state === 'up').length;
    const t = traffic?.services.get(s.name);
    return [
      s.name,
      s.vip,
      s.protocol,
      s.port ?? 'all',
      s.method,
      s.scheduler ?? 'mh',
      s.persistence ?? 0,
      `${up}/${s.servers.length}`,
      ...(traffic ? [t?.connections ?? 0, t?.packets ?? 0, t?.bytes ?? 0] : []),
    ];
  });
  term.print(
    ...renderTable(
      [
        { title: 'Service' },
        { title: 'VIP' },
        { title: 'Proto' },
        { title: 'Port', align: 'right' },
        { title: 'Method' },
        { title: 'Sched' },
        { title: 'Persist s', align: 'right' },
        { title: 'Up/servers', align: 'right' },
        ...(traffic
          ? [
              { title: 'Conns', align: 'right' as const },
              { title: 'Packets', align: 'right' as const },
              { title: 'Bytes', align: 'right' as const },
            ]
          : []),
      ],
      rows,
    ),
  );
  if (!traffic) term.print('', `Traffic: ${unavailable(TRAFFIC).message}`);
};

const showServers: Handler = async ({ backend, term }, { options }) => {
  const { config } = running(backend);
  const only = options.service as string | undefined;
  const services = config.services.filter((s) => only === undefined || s.name === only);
  if (only !== undefined && services.length === 0) {
    throw new ConsoleError('CONSOLE_REFUSED', `service ${only} is not in the running configuration`);
  }
  const rows = services.flatMap((s) =>
    s.servers.map((r) => {
      const h = backend.health(s.name, r.name);
      return [
        s.name,
        r.name,
        r.address,
        r.port ?? s.port ?? 'all',
        r.weight ?? 1,
        r.state ?? 'up',
        h?.state ?? 'no record',
        wallText(h?.since),
        h?.detail || '-',
      ];
    }),
  );
  if (rows.length === 0) {
    term.print('No real servers are configured.');
    return;
  }
  term.print(
    ...renderTable(
      [
        { title: 'Service' },
        { title: 'Server' },
        { title: 'Address' },
        { title: 'Port', align: 'right' },
        { title: 'Weight', align: 'right' },
        { title: 'State' },
        { title: 'Health' },
        { title: 'Since' },
        { title: 'Detail' },
      ],
      rows,
    ),
  );
};

const showJournal: Handler = async ({ backend, term }) => {
  const { status: s, recovery } = backend.journal();
  term.print(
    ...renderPairs([
      ['Node', s.node],
      ['Replication role', s.role],
      ['Epoch', s.epoch],
      ['Head seq', s.head],
      ['Floor seq', s.floor],
      ['Peer relation', s.relation],
      ['Follower lag', s.lag ?? '-'],
      ['Recovering', s.recovering ? 'yes: must resync from the peer' : 'no'],
      ['Opened from', recovery.source],
      ['Entries shipped', s.counters.entriesShipped],
      ['Entries applied', s.counters.entriesApplied],
    ]),
    '',
  );
  const versions = backend.config.versions(10);
  if (versions.length === 0) {
    term.print('No configuration has been committed yet.');
    return;
  }
  term.print(
    ...renderTable(
      [
        { title: 'Version', align: 'right' },
        { title: 'Author' },
        { title: 'Committed' },
        { title: 'Rollback of', align: 'right' },
        { title: 'Comment' },
      ],
      versions.map((v) => [v.version, v.author, wallText(v.at), v.rollbackOf ?? '-', v.comment || '-']),
    ),
  );
};

const showLog: Handler = async ({ backend, term }, { options }) => {
  const events = backend.log((options.last as number | undefined) ?? 20);
  if (events.length === 0) {
    term.print('The event log is empty.');
    return;
  }
  term.print(
    ...renderTable(
      [{ title: 'Time' }, { title: 'Level' }, { title: 'Source' }, { title: 'Message' }],
      events.map((e) => [wallText(e.at), e.level, e.source, e.message]),
    ),
  );
};

const showConfiguration: Handler = async ({ backend, term }, { options }) => {
  const n = options.version as number | undefined;
  const v = n === undefined ? backend.config.running() : backend.config.version(n);
  if (v === undefined) {
    const latest = backend.config.running()?.version ?? 0;
    throw new ConsoleError(
      'CONSOLE_REFUSED',
      n === undefined
        ? 'no configuration has been committed yet'
        : `there is no version ${n} (the latest is ${latest})`,
    );
  }
  term.print(
    `# version ${v.version} by ${v.author} at ${wallText(v.at)}${v.comment ? `: ${v.comment}` : ''}`,
    ...jsonLines(redact(v.doc)),
  );
};

const showCandidate: Handler = async ({ backend, term }) => {
  const c = backend.config.candidate();
  if (c === undefined) {
    term.print('There is no candidate: it is the running configuration until you set or delete something.');
    return;
  }
  term.print(`# candidate edited from version ${c.baseVersion} by ${c.author}`, ...jsonLines(redact(c.doc)));
};

/** The changes commit would make, one per line (password hashes shown as fingerprints). */
export function candidateDiff(ctx: CommandContext): string[] | undefined {
  const c = ctx.backend.config.candidate();
  if (c === undefined) return undefined;
  const base: ConfigDoc = ctx.backend.config.running()?.doc ?? {};
  return formatDiff(diffConfig(redact(base), redact(c.doc)));
}

const showDiff: Handler = async (ctx) => {
  const lines = candidateDiff(ctx);
  if (lines === undefined || lines.length === 0) {
    ctx.term.print('The candidate does not differ from the running configuration.');
    return;
  }
  ctx.term.print(...lines);
};

export const showHandlers: Record<string, Handler> = {
  'show.status': showStatus,
  'show.version': showVersion,
  'show.cluster': showCluster,
  'show.links': showLinks,
  'show.services': showServices,
  'show.servers': showServers,
  'show.journal': showJournal,
  'show.log': showLog,
  'show.configuration': showConfiguration,
  'show.candidate': showCandidate,
  'show.diff': showDiff,
};
