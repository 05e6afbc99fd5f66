/**
 * Configure mode: `set` and `delete` edit the candidate held in the journal, `commit` validates it and
 * makes it the next running version (replicated to the peer), `rollback N` commits version N's document
 * again, `discard` drops the candidate. Nothing reaches the running configuration without validateConfig.
 */

import type { Fields } from '../../config/edit.ts';
import * as edit from '../../config/edit.ts';
import { hashPassword } from '../../config/password.ts';
import { formatIssue, validateConfig } from '../../config/validate.ts';
import type { CommitResult } from '../../journal/api.ts';
import type { ConfigDoc, JsonValue } from '../../journal/types.ts';
import { CHECK_FIELDS, CLUSTER_FIELDS, type FieldRow, SERVER_FIELDS, SERVICE_FIELDS } from '../commands.ts';
import { ConsoleError } from '../errors.ts';
import type { Parsed } from '../grammar.ts';
import type { CommandContext, Handler } from './context.ts';
import { candidateDiff } from './show.ts';

const MIN_PASSWORD = 8;

/** The document edits apply to: the candidate, or the running configuration when there is none. */
function base(ctx: CommandContext): ConfigDoc {
  return ctx.backend.config.candidate()?.doc ?? ctx.backend.config.running()?.doc ?? {};
}

async function save(ctx: CommandContext, doc: ConfigDoc): Promise<void> {
  await ctx.backend.config.edit(doc, { author: ctx.user.name });
}

function fields(rows: readonly FieldRow[], options: Parsed['options']): Fields {
  const out: Fields = {};
  for (const row of rows) {
    const v = options[row.word];
    if (v !== undefined) out[row.field] = v as JsonValue;
  }
  return out;
}

const unset = (rows: readonly FieldRow[], options: Parsed['options']): string[] =>
  rows.filter((r) => options[r.word] !== undefined).map((r) => r.field);

const str = (v: unknown): string => v as string;
const target = (args: Parsed['args']): edit.CheckTarget => ({
  service: str(args.service),
  server: args.server as string | undefined,
});

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function printIssues(
  ctx: CommandContext,
  what: string,
  issues: readonly { path: string; message: string }[],
): void {
  ctx.term.print(
    `% ${what}: ${plural(issues.length, 'problem')}`,
    ...issues.map((i) => `  ${formatIssue(i)}`),
  );
}

function replication(r: CommitResult): string {
  switch (r.replication) {
    case 'acked':
      return 'replicated to the peer';
    case 'peer-down':
      return 'NOT replicated yet: the peer is not connected; it receives this version when it reconnects';
    case 'timeout':
      return 'NOT acknowledged by the peer in time; it will catch up when replication recovers';
    case 'not-leader':
      return 'NOT replicated: this node stopped leading the journal';
  }
}

const enter: Handler = async (ctx) => {
  const { role } = ctx.backend.journal().status;
  if (role !== 'leader') {
    throw new ConsoleError(
      'CONSOLE_REFUSED',
      `this node does not lead the journal (it is a ${role}): configure on the active node, the change reaches this one by replication`,
    );
  }
  ctx.setMode('configure');
  const c = ctx.backend.config.candidate();
  const runningVersion = ctx.backend.config.running()?.version ?? 0;
  ctx.term.print('Editing the candidate configuration: set, delete, show diff, commit; exit to leave.');
  if (c !== undefined && c.baseVersion !== runningVersion) {
    ctx.term.print(
      `% warning: the candidate was edited from version ${c.baseVersion} but version ${runningVersion} is running: commit will refuse it; discard it to start again from version ${runningVersion}`,
    );
  } else if (c !== undefined) {
    ctx.term.print(`A candidate with uncommitted changes (by ${c.author}) is kept from earlier.`);
  }
};

const leave: Handler = async (ctx) => {
  ctx.setMode('operational');
  if (ctx.backend.config.candidate() !== undefined) {
    ctx.term.print('The candidate keeps its uncommitted changes: configure again to commit or discard them.');
  }
};

const setService: Handler = async (ctx, { args, options }) => {
  await save(ctx, edit.setService(base(ctx), str(args.service), fields(SERVICE_FIELDS, options)));
};

const setServer: Handler = async (ctx, { args, options }) => {
  await save(
    ctx,
    edit.setServer(base(ctx), str(args.service), str(args.server), fields(SERVER_FIELDS, options)),
  );
};

const setCheck: Handler = async (ctx, { args, options }) => {
  const own = fields(CHECK_FIELDS, options);
  for (const pair of (options.field as unknown[][] | undefined) ?? [])
    own[str(pair[0])] = pair[1] as JsonValue;
  await save(ctx, edit.setCheck(base(ctx), target(args), str(args.kind), own));
};

const setCluster: Handler = async (ctx, { options }) => {
  await save(ctx, edit.setCluster(base(ctx), fields(CLUSTER_FIELDS, options)));
};

const setPriority: Handler = async (ctx, { args }) => {
  await save(ctx, edit.setPriority(base(ctx), str(args.node), args.priority as number));
};

async function askPassword(ctx: CommandContext, user: string): Promise<string> {
  const first = await ctx.term.readLine(`New password for ${user}: `, { echo: false });
  if (first.type !== 'line')
    throw new ConsoleError('CONSOLE_REFUSED', 'no password entered; nothing changed');
  if ([...first.text].length < MIN_PASSWORD) {
    throw new ConsoleError(
      'CONSOLE_REFUSED',
      `a password needs at least ${MIN_PASSWORD} characters; nothing changed`,
    );
  }
  const again = await ctx.term.readLine('Retype it: ', { echo: false });
  if (again.type !== 'line' || again.text !== first.text) {
    throw new ConsoleError('CONSOLE_REFUSED', 'the two passwords differ; nothing changed');
  }
  return first.text;
}

const setUser: Handler = async (ctx, { args, options }) => {
  const name = str(args.user);
  const doc = base(ctx);
  const exists =
    Array.isArray(doc.users) &&
    doc.users.some((u) => typeof u === 'object' && u !== null && !Array.isArray(u) && u.name === name);
  if (!exists && (options.role === undefined || options.password === undefined)) {
    throw new ConsoleError(
      'CONSOLE_REFUSED',
      `new user ${name} needs both: set user ${name} role admin|operator password`,
    );
  }
  const hash =
    options.password === undefined
      ? undefined
      : await hashPassword(await askPassword(ctx, name), ctx.hashParams ? { params: ctx.hashParams } : {});
  await save(
    ctx,
    edit.setUser(doc, name, {
      ...(hash === undefined ? {} : { hash }),
      ...(options.role === undefined ? {} : { role: str(options.role) }),
    }),
  );
};

const deleteService: Handler = async (ctx, { args, options }) => {
  const fieldsToUnset = unset(SERVICE_FIELDS, options);
  const doc = base(ctx);
  await save(
    ctx,
    fieldsToUnset.length > 0
      ? edit.unsetService(doc, str(args.service), fieldsToUnset)
      : edit.deleteService(doc, str(args.service)),
  );
};

const deleteServer: Handler = async (ctx, { args, options }) => {
  const fieldsToUnset = unset(SERVER_FIELDS, options);
  const doc = base(ctx);
  await save(
    ctx,
    fieldsToUnset.length > 0
      ? edit.unsetServer(doc, str(args.service), str(args.server), fieldsToUnset)
      : edit.deleteServer(doc, str(args.service), str(args.server)),
  );
};

const deleteCheck: Handler = async (ctx, { args }) => {
  await save(ctx, edit.deleteCheck(base(ctx), target(args), str(args.kind)));
};

const deleteCluster: Handler = async (ctx, { options }) => {
  await save(ctx, edit.unsetCluster(base(ctx), unset(CLUSTER_FIELDS, options)));
};

const deletePriority: Handler = async (ctx, { args }) => {
  await save(ctx, edit.unsetPriority(base(ctx), str(args.node)));
};

const deleteUser: Handler = async (ctx, { args }) => {
  const name = str(args.user);
  await save(ctx, edit.deleteUser(base(ctx), name));
  if (name === ctx.user.name) ctx.term.print(`Note: this removes your own login (${name}) once committed.`);
};

const commit: Handler = async (ctx, { options }) => {
  const store = ctx.backend.config;
  const c = store.candidate();
  if (c === undefined)
    throw new ConsoleError('CONSOLE_REFUSED', 'there is nothing to commit: set or delete something first');
  const changes = candidateDiff(ctx) ?? [];
  if (changes.length === 0) {
    await store.discard({ author: ctx.user.name });
    ctx.term.print('The candidate did not differ from the running configuration; nothing committed.');
    return;
  }
  const result = validateConfig(c.doc);
  if (!result.ok) {
    printIssues(ctx, 'commit refused, the candidate is not valid', result.issues);
    return;
  }
  const r = await store.commit({
    author: ctx.user.name,
    comment: (options.comment as string | undefined) ?? '',
    expectVersion: c.baseVersion,
  });
  ctx.term.print(
    `Committed version ${r.version} (${plural(r.changes.length, 'change')}): ${replication(r)}.`,
  );
  await audit(ctx, `configuration version ${r.version} committed by ${ctx.user.name}`);
};

const rollback: Handler = async (ctx, { args }) => {
  const store = ctx.backend.config;
  const to = args.version as number;
  const target = store.version(to);
  if (target === undefined) {
    throw new ConsoleError(
      'CONSOLE_REFUSED',
      `there is no version ${to} (the latest is ${store.running()?.version ?? 0})`,
    );
  }
  const result = validateConfig(target.doc);
  if (!result.ok) {
    printIssues(ctx, `rollback refused, version ${to} is not valid for this firmware`, result.issues);
    return;
  }
  const r = await store.rollback(to, { author: ctx.user.name });
  ctx.term.print(
    `Committed version ${r.version}, the configuration of version ${to} (${plural(r.changes.length, 'change')}): ${replication(r)}.`,
  );
  const c = store.candidate();
  if (c !== undefined) {
    ctx.term.print(
      `% the candidate was edited from version ${c.baseVersion} and is now out of date: discard it before editing again`,
    );
  }
  await audit(
    ctx,
    `configuration rolled back to version ${to} (as version ${r.version}) by ${ctx.user.name}`,
  );
};

const discard: Handler = async (ctx) => {
  if (ctx.backend.config.candidate() === undefined) {
    ctx.term.print('There is no candidate to discard.');
    return;
  }
  await ctx.backend.config.discard({ author: ctx.user.name });
  ctx.term.print('Candidate discarded.');
};

const validate: Handler = async (ctx) => {
  const c = ctx.backend.config.candidate();
  const result = validateConfig(c?.doc ?? ctx.backend.config.running()?.doc ?? {});
  const what = c === undefined ? 'the running configuration' : 'the candidate';
  if (result.ok) ctx.term.print(`${what[0]?.toUpperCase()}${what.slice(1)} is valid.`);
  else printIssues(ctx, `${what} is not valid`, result.issues);
};

async function audit(ctx: CommandContext, message: string): Promise<void> {
  try {
    await ctx.backend.audit(message);
  } catch {
    // The commit itself is in the journal with its author; a lost audit line loses nothing.
  }
}

export const configureHandlers: Record<string, Handler> = {
  configure: enter,
  exit: leave,
  'set.service': setService,
  'set.server': setServer,
  'set.check': setCheck,
  'set.cluster': setCluster,
  'set.priority': setPriority,
  'set.user': setUser,
  'delete.service': deleteService,
  'delete.server': deleteServer,
  'delete.check': deleteCheck,
  'delete.cluster': deleteCluster,
  'delete.priority': deletePriority,
  'delete.user': deleteUser,
  commit,
  rollback,
  discard,
  validate,
};
