/**
 * Edits of a configuration document, as the console's `set` and `delete` make them on the candidate.
 * Each takes a document and returns a new one (the input is never changed). Edits check that what they
 * name exists (CONFIG_NOT_FOUND) but not that the result is valid: a candidate may be incomplete while it
 * is being built, and `validateConfig` judges it at commit.
 */
import type { ConfigDoc, JsonObject, JsonValue } from '../journal/types.ts';
import { ConfigError } from './errors.ts';

export type Fields = Record<string, JsonValue>;

/** Where a check is attached: a service, or one server of it. */
export interface CheckTarget {
  service: string;
  server?: string | undefined;
}

const isObject = (v: JsonValue | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function list(doc: JsonObject, key: string, where: string): JsonObject[] {
  const v = doc[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every(isObject)) {
    throw new ConfigError(
      'CONFIG_BAD_ARGUMENT',
      `${where}${key} is not a list of objects; fix or discard it`,
    );
  }
  return v;
}

function section(doc: JsonObject, key: string): JsonObject {
  const v = doc[key];
  if (v === undefined) return {};
  if (!isObject(v))
    throw new ConfigError('CONFIG_BAD_ARGUMENT', `${key} is not an object; fix or discard it`);
  return v;
}

const byName = (items: readonly JsonObject[], name: string): number =>
  items.findIndex((i) => i.name === name);

function without(o: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (!keys.includes(k)) out[k] = v;
  return out;
}

function service(doc: ConfigDoc, name: string): { services: JsonObject[]; index: number } {
  const services = list(doc, 'services', '');
  const index = byName(services, name);
  if (index < 0) throw new ConfigError('CONFIG_NOT_FOUND', `service ${name}`);
  return { services, index };
}

/** Creates the service or changes its fields (its servers are edited with setServer). */
export function setService(doc: ConfigDoc, name: string, fields: Fields): ConfigDoc {
  const services = [...list(doc, 'services', '')];
  const index = byName(services, name);
  const rest = without(fields, ['name', 'servers']);
  if (index < 0) services.push({ name, ...rest, servers: [] });
  else services[index] = { ...(services[index] as JsonObject), ...rest };
  return { ...doc, services };
}

/** Removes fields of a service (they fall back to their defaults). */
export function unsetService(doc: ConfigDoc, name: string, fields: readonly string[]): ConfigDoc {
  const { services, index } = service(doc, name);
  const next = [...services];
  next[index] = without(
    services[index] as JsonObject,
    fields.filter((f) => f !== 'name' && f !== 'servers'),
  );
  return { ...doc, services: next };
}

/** Removes a service with its servers and every check attached to it. */
export function deleteService(doc: ConfigDoc, name: string): ConfigDoc {
  const { services, index } = service(doc, name);
  const checks = list(doc, 'checks', '').filter((c) => c.service !== name);
  return { ...doc, services: services.filter((_, i) => i !== index), checks };
}

function servers(doc: ConfigDoc, serviceName: string) {
  const { services, index } = service(doc, serviceName);
  const svc = services[index] as JsonObject;
  return { services, index, svc, servers: list(svc, 'servers', `service ${serviceName}: `) };
}

/** Creates the server in the service, or changes its fields. */
export function setServer(doc: ConfigDoc, serviceName: string, name: string, fields: Fields): ConfigDoc {
  const at = servers(doc, serviceName);
  const next = [...at.servers];
  const i = byName(next, name);
  const rest = without(fields, ['name']);
  if (i < 0) next.push({ name, ...rest });
  else next[i] = { ...(next[i] as JsonObject), ...rest };
  const services = [...at.services];
  services[at.index] = { ...at.svc, servers: next };
  return { ...doc, services };
}

export function unsetServer(
  doc: ConfigDoc,
  serviceName: string,
  name: string,
  fields: readonly string[],
): ConfigDoc {
  const at = servers(doc, serviceName);
  const i = byName(at.servers, name);
  if (i < 0) throw new ConfigError('CONFIG_NOT_FOUND', `server ${name} in service ${serviceName}`);
  const next = [...at.servers];
  next[i] = without(
    at.servers[i] as JsonObject,
    fields.filter((f) => f !== 'name'),
  );
  const services = [...at.services];
  services[at.index] = { ...at.svc, servers: next };
  return { ...doc, services };
}

/** Removes a server and the checks attached to it. */
export function deleteServer(doc: ConfigDoc, serviceName: string, name: string): ConfigDoc {
  const at = servers(doc, serviceName);
  if (byName(at.servers, name) < 0) {
    throw new ConfigError('CONFIG_NOT_FOUND', `server ${name} in service ${serviceName}`);
  }
  const services = [...at.services];
  services[at.index] = { ...at.svc, servers: at.servers.filter((s) => s.name !== name) };
  const checks = list(doc, 'checks', '').filter((c) => !(c.service === serviceName && c.server === name));
  return { ...doc, services, checks };
}

function requireTarget(doc: ConfigDoc, target: CheckTarget): void {
  const at = servers(doc, target.service);
  if (target.server !== undefined && byName(at.servers, target.server) < 0) {
    throw new ConfigError('CONFIG_NOT_FOUND', `server ${target.server} in service ${target.service}`);
  }
}

const sameTarget = (c: JsonObject, t: CheckTarget, kind: string): boolean =>
  c.service === t.service && (c.server ?? undefined) === t.server && c.kind === kind;

const targetText = (t: CheckTarget): string =>
  t.server === undefined ? `service ${t.service}` : `server ${t.server} of service ${t.service}`;

/** Adds a check of `kind` to the target, or changes the fields of the one it has. */
export function setCheck(doc: ConfigDoc, target: CheckTarget, kind: string, fields: Fields): ConfigDoc {
  requireTarget(doc, target);
  const checks = [...list(doc, 'checks', '')];
  const i = checks.findIndex((c) => sameTarget(c, target, kind));
  const rest = without(fields, ['service', 'server', 'kind']);
  const base: JsonObject = {
    service: target.service,
    ...(target.server === undefined ? {} : { server: target.server }),
    kind,
  };
  if (i < 0) checks.push({ ...base, ...rest });
  else checks[i] = { ...(checks[i] as JsonObject), ...rest };
  return { ...doc, checks };
}

export function deleteCheck(doc: ConfigDoc, target: CheckTarget, kind: string): ConfigDoc {
  const checks = list(doc, 'checks', '');
  if (!checks.some((c) => sameTarget(c, target, kind))) {
    throw new ConfigError('CONFIG_NOT_FOUND', `${kind} check on ${targetText(target)}`);
  }
  return { ...doc, checks: checks.filter((c) => !sameTarget(c, target, kind)) };
}

/** Sets cluster fields (timers, preempt, minHealth). */
export function setCluster(doc: ConfigDoc, fields: Fields): ConfigDoc {
  return { ...doc, cluster: { ...section(doc, 'cluster'), ...without(fields, ['priority']) } };
}

/** Returns cluster fields to their defaults. */
export function unsetCluster(doc: ConfigDoc, fields: readonly string[]): ConfigDoc {
  return {
    ...doc,
    cluster: without(
      section(doc, 'cluster'),
      fields.filter((f) => f !== 'priority'),
    ),
  };
}

export function setPriority(doc: ConfigDoc, node: string, priority: number): ConfigDoc {
  const cluster = section(doc, 'cluster');
  const current = isObject(cluster.priority) ? cluster.priority : {};
  return { ...doc, cluster: { ...cluster, priority: { ...current, [node]: priority } } };
}

export function unsetPriority(doc: ConfigDoc, node: string): ConfigDoc {
  const cluster = section(doc, 'cluster');
  const current = isObject(cluster.priority) ? cluster.priority : {};
  if (!(node in current)) throw new ConfigError('CONFIG_NOT_FOUND', `a priority for node ${node}`);
  return { ...doc, cluster: { ...cluster, priority: without(current, [node]) } };
}

/** Creates a user (needs `hash` and `role`) or changes an existing one's. */
export function setUser(doc: ConfigDoc, name: string, fields: { hash?: string; role?: string }): ConfigDoc {
  const users = [...list(doc, 'users', '')];
  const i = byName(users, name);
  const rest: JsonObject = {
    ...(fields.hash === undefined ? {} : { hash: fields.hash }),
    ...(fields.role === undefined ? {} : { role: fields.role }),
  };
  if (i < 0) {
    if (fields.hash === undefined || fields.role === undefined) {
      throw new ConfigError('CONFIG_BAD_ARGUMENT', `new user ${name} needs both a role and a password`);
    }
    users.push({ name, ...rest });
  } else users[i] = { ...(users[i] as JsonObject), ...rest };
  return { ...doc, users };
}

export function deleteUser(doc: ConfigDoc, name: string): ConfigDoc {
  const users = list(doc, 'users', '');
  if (byName(users, name) < 0) throw new ConfigError('CONFIG_NOT_FOUND', `user ${name}`);
  return { ...doc, users: users.filter((u) => u.name !== name) };
}
