/**
 * `validateConfig`: the one gate for an appliance configuration document. It checks the shape
 * (schema.ts), the references between sections (checks name existing services and servers, names are
 * unique, some user is an admin), then runs each owning service's own validator on its projection
 * (project.ts). It returns the typed document or every issue found, each with a path that names items by
 * name (`services[web].servers[web1].port`) and a sentence saying what was expected and what arrived.
 */
import { resolveConfig as resolveCluster } from '../cluster/config.ts';
import { ConfigError as ClusterConfigError } from '../cluster/errors.ts';
import { ForwardError } from '../forward/errors.ts';
import { parseDesired } from '../forward/model.ts';
import { resolveConfig as resolveMonitor } from '../monitor/config.ts';
import { ConfigFieldError } from '../monitor/errors.ts';
import { resolveTakeoverConfig } from '../takeover/config.ts';
import { TakeoverError } from '../takeover/errors.ts';
import { ConfigError, type ConfigIssue, show } from './errors.ts';
import { clusterInput, forwardingInput, monitorInput, takeoverInput } from './project.ts';
import { type ApplianceConfig, configSchema } from './schema.ts';

export type ValidationResult = { ok: true; config: ApplianceConfig } | { ok: false; issues: ConfigIssue[] };

type Segment = string | number;

/** At most this many issues are reported: the rest are usually consequences of the first. */
const MAX_ISSUES = 20;

export function validateConfig(doc: unknown): ValidationResult {
  const parsed = configSchema.safeParse(doc, { reportInput: true });
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, MAX_ISSUES).map((issue): ConfigIssue => {
      if (issue.code === 'unrecognized_keys') {
        const key = issue.keys[0] ?? '?';
        return {
          path: renderPath(doc, [...issue.path, key].map(seg)),
          message: 'is not a known field here',
        };
      }
      const path = issue.path.map(seg);
      const input = 'input' in issue ? issue.input : lookup(doc, path);
      // A bad record key: zod nests the key's own problem.
      const message =
        issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
      return { path: renderPath(doc, path), message: `${message}, got ${show(input)}` };
    });
    return { ok: false, issues };
  }
  const config = parsed.data;
  const issues = crossReferences(config);
  if (issues.length === 0) issues.push(...ownerIssues(config));
  return issues.length === 0 ? { ok: true, config } : { ok: false, issues: issues.slice(0, MAX_ISSUES) };
}

/** `validateConfig` for callers that want the typed document or a CONFIG_INVALID error. */
export function parseConfig(doc: unknown): ApplianceConfig {
  const result = validateConfig(doc);
  if (result.ok) return result.config;
  const first = result.issues[0];
  const more = result.issues.length > 1 ? ` (and ${result.issues.length - 1} more)` : '';
  throw new ConfigError('CONFIG_INVALID', `${first ? formatIssue(first) : 'no detail'}${more}`, {
    issues: result.issues,
  });
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.path || '(document)'}: ${issue.message}`;
}

function crossReferences(config: ApplianceConfig): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const duplicates = (names: readonly string[], where: (i: number) => Segment[], what: string): void => {
    const seen = new Set<string>();
    names.forEach((name, i) => {
      if (seen.has(name))
        out.push({ path: renderPath(config, where(i)), message: `a second ${what} named ${name}` });
      seen.add(name);
    });
  };
  duplicates(
    config.services.map((s) => s.name),
    (i) => ['services', i],
    'service',
  );
  config.services.forEach((service, si) => {
    duplicates(
      service.servers.map((s) => s.name),
      (i) => ['services', si, 'servers', i],
      `server in service ${service.name}`,
    );
  });
  const seenChecks = new Set<string>();
  config.checks.forEach((check, ci) => {
    const path = renderPath(config, ['checks', ci]);
    const service = config.services.find((s) => s.name === check.service);
    if (service === undefined) {
      out.push({ path, message: `expected an existing service, got ${show(check.service)}` });
      return;
    }
    if (check.server !== undefined && !service.servers.some((r) => r.name === check.server)) {
      out.push({ path, message: `expected a server of service ${service.name}, got ${show(check.server)}` });
      return;
    }
    const key = `${check.service}/${check.server ?? ''}/${check.kind}`;
    if (seenChecks.has(key)) out.push({ path, message: `a second ${check.kind} check on the same target` });
    seenChecks.add(key);
  });
  duplicates(
    config.users.map((u) => u.name),
    (i) => ['users', i],
    'user',
  );
  if (config.users.length > 0 && !config.users.some((u) => u.role === 'admin')) {
    out.push({ path: 'users', message: 'expected at least one user with role admin, got none' });
  }
  return out;
}

function ownerIssues(config: ApplianceConfig): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  try {
    parseDesired(forwardingInput(config));
  } catch (err) {
    if (!(err instanceof ForwardError) || err.field === undefined) throw err;
    const prefix = `forwarding: field ${err.field} `;
    const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
    out.push({ path: renderPath(config, err.field.split('.').map(seg)), message });
  }
  const monitor = monitorInput(config);
  try {
    resolveMonitor(monitor.input);
  } catch (err) {
    if (!(err instanceof ConfigFieldError)) throw err;
    out.push({
      path: monitorPath(config, monitor.origins, err.field),
      message: `${err.problem}, got ${show(err.value)}`,
    });
  }
  const nodes = Object.keys(config.cluster.priority ?? {});
  for (const name of nodes.length > 0 ? nodes : ['']) {
    try {
      resolveCluster(clusterInput(config, { nodeId: 0, name }));
    } catch (err) {
      if (!(err instanceof ClusterConfigError)) throw err;
      const prefix = `invalid cluster configuration: ${err.field} `;
      const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
      const path = err.field === 'priority' ? ['cluster', 'priority', name] : ['cluster', err.field];
      out.push({ path: renderPath(config, path), message });
      break;
    }
  }
  const takeover = takeoverInput(config);
  if (takeover !== undefined) {
    try {
      resolveTakeoverConfig(takeover);
    } catch (err) {
      if (!(err instanceof TakeoverError)) throw err;
      // Its message names the field inside the section: "takeover addresses[0].cidr should be …".
      out.push({ path: 'takeover', message: err.message.replace(/^takeover /, '') });
    }
  }
  return out;
}

/** Maps a monitor field path back into the document through the projection's origins. */
function monitorPath(config: ApplianceConfig, origins: Map<string, Segment[]>, field: string): string {
  let best: string | undefined;
  for (const prefix of origins.keys()) {
    const boundary =
      field.length === prefix.length || field[prefix.length] === '.' || field[prefix.length] === '[';
    if (field.startsWith(prefix) && boundary && prefix.length > (best?.length ?? -1)) best = prefix;
  }
  if (best === undefined) return field;
  const base = renderPath(config, origins.get(best) as Segment[]);
  const rest = field.slice(best.length);
  return `${base}${rest}`;
}

const seg = (part: PropertyKey): Segment =>
  typeof part === 'number' ? part : /^\d+$/.test(String(part)) ? Number(part) : String(part);

function lookup(value: unknown, path: readonly Segment[]): unknown {
  let at = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/**
 * A path an operator can follow: array items that have a name are shown by name (`services[web]`), a
 * check by what it is attached to and its kind (`checks[web/web1/http]`), anything else by index.
 */
export function renderPath(doc: unknown, path: readonly Segment[]): string {
  let out = '';
  let at: unknown = doc;
  for (const part of path) {
    const next = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[part] : undefined;
    if (typeof part === 'number') out += `[${label(next) ?? part}]`;
    else out += out === '' ? part : `.${part}`;
    at = next;
  }
  return out;
}

function label(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const o = item as Record<string, unknown>;
  if (typeof o.name === 'string' && o.name !== '') return o.name;
  if (typeof o.service === 'string' && typeof o.kind === 'string') {
    return [o.service, typeof o.server === 'string' ? o.server : undefined, o.kind].filter(Boolean).join('/');
  }
  return undefined;
}
