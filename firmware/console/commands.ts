/**
 * The console's commands as grammar data: the operational mode (after login) and the configure mode
 * (editing the candidate configuration). Field tables map option keywords to document fields, so the
 * handlers and the help text come from the same rows.
 */

import {
  METHODS,
  NODE_NAME,
  PROTOCOLS,
  SCHEDULERS,
  SERVER_NAME,
  SERVER_STATES,
  SERVICE_NAME,
  USER_NAME,
  USER_ROLES,
} from '../config/schema.ts';
import type { ConfigDoc, JsonValue } from '../journal/types.ts';
import { KIND_NAMES } from '../monitor/checks/index.ts';
import { type Args, Grammar, type GrammarNode, type OptionSpec, type ValueType } from './grammar.ts';
import {
  address,
  choice,
  fieldValue,
  integer,
  milliseconds,
  name,
  onOff,
  port,
  statusList,
  text,
} from './values.ts';

/** Where completions find existing names: the candidate in configure mode, the running document otherwise. */
export interface CompletionContext {
  doc(): ConfigDoc;
}

type C = CompletionContext;
type Node = GrammarNode<C>;

/** An option keyword that sets one document field. */
export interface FieldRow {
  word: string;
  field: string;
  type: ValueType<C>;
  help: string;
}

const items = (v: JsonValue | undefined): { [key: string]: JsonValue }[] =>
  Array.isArray(v)
    ? v.filter(
        (i): i is { [key: string]: JsonValue } => typeof i === 'object' && i !== null && !Array.isArray(i),
      )
    : [];
const names = (v: JsonValue | undefined): string[] =>
  items(v)
    .map((i) => i.name)
    .filter((n): n is string => typeof n === 'string');

const serviceNames = (ctx: C): string[] => names(ctx.doc().services);
const serverNames = (ctx: C, args: Args): string[] =>
  names(items(ctx.doc().services).find((s) => s.name === args.service)?.servers);
const userNames = (ctx: C): string[] => names(ctx.doc().users);
const priorityNodes = (ctx: C): string[] => {
  const cluster = ctx.doc().cluster;
  const p =
    typeof cluster === 'object' && cluster !== null && !Array.isArray(cluster) ? cluster.priority : undefined;
  return typeof p === 'object' && p !== null && !Array.isArray(p) ? Object.keys(p) : [];
};

const serviceName = name<C>(
  'service',
  SERVICE_NAME,
  '1-24 of a-z 0-9 _ -, starting with a letter or digit',
  serviceNames,
);
const serverName = name<C>(
  'server',
  SERVER_NAME,
  '1-32 of a-z 0-9 _ . -, starting with a letter or digit',
  serverNames,
);
const userName = name<C>('user', USER_NAME, '1-32 of a-z 0-9 _ . -, starting with a letter or _', userNames);
const nodeName = name<C>('node', NODE_NAME, '1-32 of a-z 0-9 _ -', priorityNodes);
const checkKind = choice<C>(KIND_NAMES);

export const SERVICE_FIELDS: readonly FieldRow[] = [
  { word: 'vip', field: 'vip', type: address(), help: 'virtual IP address clients connect to' },
  { word: 'protocol', field: 'protocol', type: choice(PROTOCOLS), help: 'transport protocol' },
  { word: 'port', field: 'port', type: port(), help: 'service port (leave out for every port)' },
  {
    word: 'scheduler',
    field: 'scheduler',
    type: choice(SCHEDULERS),
    help: 'how new flows pick a server (default mh)',
  },
  {
    word: 'method',
    field: 'method',
    type: choice(METHODS),
    help: 'dr: direct routing, nat: destination NAT',
  },
  {
    word: 'persistence',
    field: 'persistence',
    type: integer('seconds', 0, 604_800),
    help: 'client stickiness in seconds (0: none)',
  },
  {
    word: 'slots',
    field: 'slots',
    type: integer('slots', 1, 1 << 20),
    help: 'hash table size (a prime for mh)',
  },
];

export const SERVER_FIELDS: readonly FieldRow[] = [
  { word: 'address', field: 'address', type: address(), help: "real server's address" },
  { word: 'port', field: 'port', type: port(), help: "real server's port (nat only; default the service's)" },
  {
    word: 'weight',
    field: 'weight',
    type: integer('weight', 0, 65535),
    help: 'share of new flows (default 1)',
  },
  { word: 'state', field: 'state', type: choice(SERVER_STATES), help: 'up, drain (no new flows) or down' },
];

export const CHECK_FIELDS: readonly FieldRow[] = [
  { word: 'interval', field: 'intervalMs', type: milliseconds(100), help: 'time between probes' },
  { word: 'timeout', field: 'timeoutMs', type: milliseconds(), help: 'how long a probe may take' },
  { word: 'rise', field: 'rise', type: integer('count', 1, 1000), help: 'successes before a server is up' },
  { word: 'fall', field: 'fall', type: integer('count', 1, 1000), help: 'failures before a server is down' },
  { word: 'port', field: 'port', type: port(), help: "probe this port instead of the server's" },
  { word: 'path', field: 'path', type: text('path'), help: 'http/https: path to request' },
  { word: 'host', field: 'host', type: text('host'), help: 'http/https: Host header' },
  {
    word: 'expect-status',
    field: 'expectStatus',
    type: statusList(),
    help: 'http/https: accepted status codes',
  },
];

export const CLUSTER_FIELDS: readonly FieldRow[] = [
  { word: 'keepalive', field: 'keepaliveMs', type: milliseconds(), help: 'heartbeat interval' },
  { word: 'warn', field: 'warnMs', type: milliseconds(), help: 'silence that raises a link warning' },
  { word: 'dead', field: 'deadMs', type: milliseconds(), help: 'silence after which a link is down' },
  { word: 'init-dead', field: 'initDeadMs', type: milliseconds(), help: 'wait for the peer after start' },
  { word: 'preempt', field: 'preempt', type: onOff(), help: 'a higher-priority standby takes over' },
  {
    word: 'preempt-delay',
    field: 'preemptDelayMs',
    type: milliseconds(0),
    help: 'stable time before preempting',
  },
  {
    word: 'min-health',
    field: 'minHealth',
    type: integer('score', 0, 100),
    help: 'health below this hands over',
  },
  {
    word: 'handover-timeout',
    field: 'handoverTimeoutMs',
    type: milliseconds(),
    help: 'wait for the peer to take over',
  },
  {
    word: 'check-timeout',
    field: 'checkTimeoutMs',
    type: milliseconds(),
    help: 'ping-node and fence answer time',
  },
  { word: 'recheck', field: 'recheckMs', type: milliseconds(), help: 'retry after a failed check' },
];

const setOptions = (rows: readonly FieldRow[]): OptionSpec<C>[] =>
  rows.map((r) => ({ word: r.word, help: r.help, params: [{ name: r.field, type: r.type }] }));
const unsetOptions = (rows: readonly FieldRow[]): OptionSpec<C>[] =>
  rows.map((r) => ({ word: r.word, help: `back to the default ${r.word}` }));

const checkOptions: OptionSpec<C>[] = [
  ...setOptions(CHECK_FIELDS),
  {
    word: 'field',
    help: 'any other field of the check kind (JSON value or word)',
    params: [
      { name: 'field', type: name<C>('field', /^[A-Za-z][A-Za-z0-9]{0,31}$/, 'a field name like bodyRegex') },
      { name: 'value', type: fieldValue() },
    ],
    repeat: true,
  },
];

const showChildren = (configure: boolean): Node[] => [
  { word: 'status', help: 'summary of this appliance', run: 'show.status' },
  { word: 'cluster', help: 'roles, epoch and peers as the journal records them', run: 'show.cluster' },
  { word: 'links', help: 'heartbeat links', run: 'show.links' },
  { word: 'services', help: 'virtual services of the running configuration', run: 'show.services' },
  {
    word: 'servers',
    help: 'real servers and their health',
    run: 'show.servers',
    options: [
      { word: 'service', help: 'only this service', params: [{ name: 'service', type: serviceName }] },
    ],
  },
  { word: 'journal', help: 'replication state and configuration versions', run: 'show.journal' },
  {
    word: 'log',
    help: 'recent events',
    run: 'show.log',
    options: [
      {
        word: 'last',
        help: 'how many events (default 20)',
        params: [{ name: 'last', type: integer('count', 1, 1000) }],
      },
    ],
  },
  { word: 'version', help: 'firmware and board', run: 'show.version' },
  {
    word: 'configuration',
    help: 'the running configuration',
    run: 'show.configuration',
    options: [
      {
        word: 'version',
        help: 'an earlier version',
        params: [{ name: 'version', type: integer('version', 1, 2 ** 31) }],
      },
    ],
  },
  ...(configure
    ? [
        { word: 'diff', help: 'what commit would change', run: 'show.diff' },
        { word: 'candidate', help: 'the candidate configuration', run: 'show.candidate' },
      ]
    : []),
];

const show = (configure: boolean): Node => ({
  word: 'show',
  help: 'show state and configuration',
  children: showChildren(configure),
});

export const operational = new Grammar<C>([
  show(false),
  { word: 'configure', help: 'edit the candidate configuration', run: 'configure' },
  { word: 'failover', exact: true, help: 'hand the active role to the peer', run: 'failover' },
  {
    word: 'maintenance',
    exact: true,
    help: 'keep this node from taking over',
    children: [
      {
        param: { name: 'on', type: onOff() },
        help: 'on: never take over; off: eligible again',
        run: 'maintenance',
      },
    ],
  },
  {
    word: 'ping',
    help: 'send ICMP echo requests',
    children: [
      {
        param: { name: 'address', type: address() },
        help: 'address to ping',
        run: 'ping',
        options: [
          {
            word: 'count',
            help: 'requests to send (default 4)',
            params: [{ name: 'count', type: integer('count', 1, 100) }],
          },
          {
            word: 'timeout',
            help: 'wait per reply (default 1000)',
            params: [{ name: 'timeout', type: milliseconds() }],
          },
        ],
      },
    ],
  },
  { word: 'reboot', exact: true, help: 'restart this appliance', run: 'reboot' },
  {
    word: 'update',
    exact: true,
    help: 'firmware update',
    run: 'update',
    options: [
      {
        word: 'bundle',
        help: 'install this signed bundle',
        params: [{ name: 'bundle', type: text('path or URL', 1024) }],
      },
    ],
  },
  { word: 'help', help: 'how to use this console', run: 'help' },
  { word: 'logout', exact: true, help: 'end this session', run: 'logout' },
]);

const checkNode: Node = {
  word: 'check',
  help: 'a health check',
  children: [
    { param: { name: 'kind', type: checkKind }, help: 'check kind', run: 'set.check', options: checkOptions },
  ],
};
const deleteCheckNode: Node = {
  word: 'check',
  help: 'a health check',
  children: [{ param: { name: 'kind', type: checkKind }, help: 'check kind', run: 'delete.check' }],
};

export const configure = new Grammar<C>([
  show(true),
  {
    word: 'set',
    help: 'change the candidate',
    children: [
      {
        word: 'service',
        help: 'a virtual service',
        children: [
          {
            param: { name: 'service', type: serviceName },
            help: 'service name',
            run: 'set.service',
            minOptions: 1,
            options: setOptions(SERVICE_FIELDS),
            children: [
              {
                word: 'server',
                help: 'a real server of the service',
                children: [
                  {
                    param: { name: 'server', type: serverName },
                    help: 'server name',
                    run: 'set.server',
                    minOptions: 1,
                    options: setOptions(SERVER_FIELDS),
                    children: [checkNode],
                  },
                ],
              },
              checkNode,
            ],
          },
        ],
      },
      {
        word: 'cluster',
        help: 'heartbeat timers and priorities',
        run: 'set.cluster',
        minOptions: 1,
        options: setOptions(CLUSTER_FIELDS),
        children: [
          {
            word: 'priority',
            help: "a node's election priority",
            children: [
              {
                param: { name: 'node', type: nodeName },
                help: 'node name',
                children: [
                  {
                    param: { name: 'priority', type: integer('priority', 1, 255) },
                    help: 'higher wins',
                    run: 'set.priority',
                  },
                ],
              },
            ],
          },
        ],
      },
      {
        word: 'user',
        help: 'a console user',
        children: [
          {
            param: { name: 'user', type: userName },
            help: 'user name',
            run: 'set.user',
            minOptions: 1,
            options: [
              {
                word: 'role',
                help: 'admin: everything; operator: show and ping',
                params: [{ name: 'role', type: choice(USER_ROLES) }],
              },
              { word: 'password', help: 'ask for a new password' },
            ],
          },
        ],
      },
    ],
  },
  {
    word: 'delete',
    exact: true,
    help: 'remove from the candidate',
    children: [
      {
        word: 'service',
        help: 'a virtual service, or some of its fields',
        children: [
          {
            param: { name: 'service', type: serviceName },
            help: 'service name',
            run: 'delete.service',
            options: unsetOptions(
              SERVICE_FIELDS.filter((r) => !['vip', 'protocol', 'method'].includes(r.word)),
            ),
            children: [
              {
                word: 'server',
                help: 'a real server, or some of its fields',
                children: [
                  {
                    param: { name: 'server', type: serverName },
                    help: 'server name',
                    run: 'delete.server',
                    options: unsetOptions(SERVER_FIELDS.filter((r) => r.word !== 'address')),
                    children: [deleteCheckNode],
                  },
                ],
              },
              deleteCheckNode,
            ],
          },
        ],
      },
      {
        word: 'cluster',
        help: 'cluster settings (back to their defaults)',
        run: 'delete.cluster',
        minOptions: 1,
        options: unsetOptions(CLUSTER_FIELDS),
        children: [
          {
            word: 'priority',
            help: "a node's priority",
            children: [
              { param: { name: 'node', type: nodeName }, help: 'node name', run: 'delete.priority' },
            ],
          },
        ],
      },
      {
        word: 'user',
        help: 'a console user',
        children: [{ param: { name: 'user', type: userName }, help: 'user name', run: 'delete.user' }],
      },
    ],
  },
  {
    word: 'commit',
    exact: true,
    help: 'validate the candidate and make it the running configuration',
    run: 'commit',
    options: [
      { word: 'comment', help: 'why (quote it)', params: [{ name: 'comment', type: text('comment', 200) }] },
    ],
  },
  {
    word: 'rollback',
    exact: true,
    help: 'commit an earlier version again',
    children: [
      {
        param: { name: 'version', type: integer('version', 1, 2 ** 31) },
        help: 'version number (show journal)',
        run: 'rollback',
      },
    ],
  },
  { word: 'discard', exact: true, help: 'throw the candidate away', run: 'discard' },
  { word: 'validate', help: 'check the candidate without committing', run: 'validate' },
  { word: 'exit', help: 'leave configure mode (the candidate is kept)', run: 'exit' },
  { word: 'help', help: 'how to use this console', run: 'help' },
]);

/** Commands only an admin may run. */
export const ADMIN_ONLY: ReadonlySet<string> = new Set([
  'configure',
  'failover',
  'maintenance',
  'reboot',
  'update',
]);
