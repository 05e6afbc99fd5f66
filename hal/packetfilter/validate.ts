/**
 * The shape checks both packet filters run on a batch before anything else, so they refuse exactly the
 * same batches with the same words. This is stricter than nft: unknown keys and forms nft 1.0.6
 * silently misreads (a named priority, a hook without a type, `handle` on `add rule`) are refused here.
 */
import { HalError } from '../errors.ts';
import type { Batch, Family, JsonValue } from './types.ts';

export const FAMILIES: readonly Family[] = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'];

const INET_HOOKS = ['prerouting', 'input', 'forward', 'output', 'postrouting'];
const HOOKS: Record<Family, readonly string[]> = {
  ip: INET_HOOKS,
  ip6: INET_HOOKS,
  inet: [...INET_HOOKS, 'ingress'],
  arp: ['input', 'output'],
  bridge: INET_HOOKS,
  netdev: ['ingress', 'egress'],
};
const NAT_HOOKS = ['prerouting', 'input', 'output', 'postrouting'];

/** Statement keywords nft 1.0.6's JSON parser knows (anything else fails with "Unknown statement object"). */
export const STATEMENTS: ReadonlySet<string> = new Set([
  'accept',
  'drop',
  'continue',
  'return',
  'jump',
  'goto',
  'match',
  'counter',
  'mangle',
  'quota',
  'limit',
  'flow',
  'fwd',
  'notrack',
  'dup',
  'snat',
  'dnat',
  'masquerade',
  'redirect',
  'reject',
  'set',
  'log',
  'ct helper',
  'ct timeout',
  'ct expectation',
  'meter',
  'queue',
  'ct count',
  'tproxy',
  'synproxy',
  'reset',
  'secmark',
  'xt',
  'vmap',
]);

// nft 1.0.6's JSON refuses `dynamic` ("Invalid set flag"); a set that rules add to gets it by itself.
const SET_FLAGS = new Set(['constant', 'interval', 'timeout']);
const MAX_NAME_BYTES = 255;
const MAX_IFNAME_BYTES = 15;

type Kind = 'table' | 'chain' | 'rule' | 'set' | 'map' | 'element' | 'counter';
type Verb = 'add' | 'create' | 'insert' | 'replace' | 'delete' | 'flush';

const OBJECTS_FOR: Record<Verb, readonly Kind[]> = {
  add: ['table', 'chain', 'rule', 'set', 'map', 'element', 'counter'],
  create: ['table', 'chain', 'set', 'map', 'element', 'counter'],
  insert: ['rule'],
  replace: ['rule'],
  delete: ['table', 'chain', 'rule', 'set', 'map', 'element', 'counter'],
  flush: ['table', 'chain', 'set', 'map'],
};

const KEYS: Record<Kind, readonly string[]> = {
  table: ['family', 'name', 'handle'],
  chain: ['family', 'table', 'name', 'handle', 'type', 'hook', 'prio', 'dev', 'policy'],
  rule: ['family', 'table', 'chain', 'handle', 'index', 'comment', 'expr'],
  set: ['family', 'table', 'name', 'handle', 'type', 'flags', 'timeout', 'size', 'comment', 'elem'],
  map: ['family', 'table', 'name', 'handle', 'type', 'map', 'flags', 'timeout', 'size', 'comment', 'elem'],
  element: ['family', 'table', 'name', 'elem'],
  counter: ['family', 'table', 'name', 'handle', 'comment', 'packets', 'bytes'],
};

export function invalid(path: string, why: string, device = 'nftables'): HalError {
  return new HalError('HAL_INVALID_ARGUMENT', `${path}: ${why}`, { device });
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The one key of a one-key object, or undefined. */
export function soleKey(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  return keys.length === 1 ? keys[0] : undefined;
}

function isJson(value: unknown, depth = 0): value is JsonValue {
  if (depth > 64) return false;
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJson(v, depth + 1));
  if (isObject(value)) return Object.values(value).every((v) => isJson(v, depth + 1));
  return false;
}

function checkName(path: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(path, `must be a non-empty string, got ${JSON.stringify(value) ?? String(value)}`);
  }
  if (Buffer.byteLength(value) > MAX_NAME_BYTES) throw invalid(path, `longer than ${MAX_NAME_BYTES} bytes`);
}

function checkCount(path: string, value: unknown, min: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(path, `must be an integer >= ${min}, got ${JSON.stringify(value) ?? String(value)}`);
  }
}

/** Table references are checked by list(), counters() and deleteTable() too. */
export function checkTableRef(path: string, table: unknown): void {
  if (!isObject(table)) throw invalid(path, 'must be an object { family, name }');
  if (!FAMILIES.includes(table.family as Family)) {
    throw invalid(
      `${path}.family`,
      `must be one of ${FAMILIES.join(', ')}, got ${JSON.stringify(table.family)}`,
    );
  }
  checkName(`${path}.name`, table.name);
}

/** Returns `batch` typed when its shape is one the typed subset allows; otherwise HAL_INVALID_ARGUMENT. */
export function validateBatch(batch: unknown): Batch {
  if (!isObject(batch) || !Array.isArray(batch.nftables)) {
    throw invalid('batch', 'must be an object { nftables: [commands] }');
  }
  if (!isJson(batch)) throw invalid('batch', 'must be plain JSON (finite numbers, no undefined, no cycles)');
  batch.nftables.forEach((command, i) => {
    checkCommand(`nftables[${i}]`, command);
  });
  return batch as unknown as Batch;
}

function checkCommand(path: string, command: unknown): void {
  const verb = soleKey(command) as Verb | undefined;
  if (verb === undefined || !(verb in OBJECTS_FOR)) {
    throw invalid(path, `must be one command object: ${Object.keys(OBJECTS_FOR).join(', ')}`);
  }
  const wrapped = (command as Record<string, unknown>)[verb];
  const kind = soleKey(wrapped) as Kind | undefined;
  if (kind === undefined || !OBJECTS_FOR[verb].includes(kind)) {
    throw invalid(`${path}.${verb}`, `must hold one of: ${OBJECTS_FOR[verb].join(', ')}`);
  }
  const body = (wrapped as Record<string, unknown>)[kind];
  checkObject(`${path}.${verb}.${kind}`, verb, kind, body);
}

function checkObject(path: string, verb: Verb, kind: Kind, body: unknown): void {
  if (!isObject(body)) throw invalid(path, 'must be an object');
  for (const key of Object.keys(body)) {
    if (!KEYS[kind].includes(key)) throw invalid(`${path}.${key}`, `is not a ${kind} property`);
  }
  if (!FAMILIES.includes(body.family as Family)) {
    throw invalid(
      `${path}.family`,
      `must be one of ${FAMILIES.join(', ')}, got ${JSON.stringify(body.family)}`,
    );
  }
  const family = body.family as Family;
  checkCount(`${path}.handle`, body.handle, 1);
  if (kind !== 'table') checkName(`${path}.table`, body.table);
  if (kind === 'rule') {
    checkRule(path, verb, body);
    return;
  }
  const byHandle = verb === 'delete' && kind !== 'element' && body.handle !== undefined;
  if (!byHandle || body.name !== undefined) checkName(`${path}.name`, body.name);
  if (verb !== 'add' && verb !== 'create') return;
  if (kind === 'chain') checkChainSpec(path, family, body);
  if (kind === 'set' || kind === 'map') checkSetSpec(path, kind, body);
  if (kind === 'element') checkElements(`${path}.elem`, body.elem);
  if (kind === 'counter') {
    checkCount(`${path}.packets`, body.packets, 0);
    checkCount(`${path}.bytes`, body.bytes, 0);
  }
  if (body.comment !== undefined && typeof body.comment !== 'string') {
    throw invalid(`${path}.comment`, 'must be a string');
  }
}

function checkChainSpec(path: string, family: Family, chain: Record<string, unknown>): void {
  const base = ['type', 'hook', 'prio', 'dev', 'policy'].filter((k) => chain[k] !== undefined);
  if (base.length === 0) return;
  for (const needed of ['type', 'hook', 'prio']) {
    if (chain[needed] === undefined) {
      throw invalid(
        `${path}.${needed}`,
        `a base chain needs type, hook and prio (this one has ${base.join(', ')})`,
      );
    }
  }
  const { type, hook, prio, dev, policy } = chain;
  if (!HOOKS[family].includes(hook as string)) {
    throw invalid(
      `${path}.hook`,
      `${JSON.stringify(hook)} is not a hook of the ${family} family (${HOOKS[family].join(', ')})`,
    );
  }
  const types =
    family === 'ip' || family === 'ip6' || family === 'inet' ? ['filter', 'nat', 'route'] : ['filter'];
  if (!types.includes(type as string)) {
    throw invalid(`${path}.type`, `${JSON.stringify(type)} is not a chain type of the ${family} family`);
  }
  if (type === 'nat' && !NAT_HOOKS.includes(hook as string)) {
    throw invalid(`${path}.hook`, `nat chains hook ${NAT_HOOKS.join(', ')}, not ${JSON.stringify(hook)}`);
  }
  if (type === 'route' && hook !== 'output') throw invalid(`${path}.hook`, 'route chains hook output only');
  if (typeof prio !== 'number' || !Number.isInteger(prio) || prio < -(2 ** 31) || prio >= 2 ** 31) {
    throw invalid(
      `${path}.prio`,
      `must be a 32-bit integer (named priorities are not accepted), got ${JSON.stringify(prio)}`,
    );
  }
  const needsDev = hook === 'ingress' || hook === 'egress';
  if (needsDev) {
    if (typeof dev !== 'string' || dev.length === 0 || Buffer.byteLength(dev) > MAX_IFNAME_BYTES) {
      throw invalid(
        `${path}.dev`,
        `an ${hook as string} chain needs an interface name of 1..${MAX_IFNAME_BYTES} bytes`,
      );
    }
  } else if (dev !== undefined) {
    throw invalid(`${path}.dev`, `only ingress and egress chains take a device`);
  }
  if (policy !== undefined && policy !== 'accept' && policy !== 'drop') {
    throw invalid(`${path}.policy`, `must be accept or drop, got ${JSON.stringify(policy)}`);
  }
}

function checkSetSpec(path: string, kind: 'set' | 'map', set: Record<string, unknown>): void {
  checkType(`${path}.type`, set.type);
  if (kind === 'map') {
    checkType(`${path}.map`, set.map);
    // nft 1.0.6 takes a list here without a word and makes a plain set, not a map.
    if (Array.isArray(set.map)) {
      throw invalid(
        `${path}.map`,
        `must be one data type name: nft 1.0.6 cannot declare a concatenated map data type, got ${JSON.stringify(set.map)}`,
      );
    }
  }
  if (set.flags !== undefined) {
    if (!Array.isArray(set.flags) || !set.flags.every((f) => SET_FLAGS.has(f as string))) {
      throw invalid(
        `${path}.flags`,
        `must be a list of ${[...SET_FLAGS].join(', ')} (a set that rules add to is dynamic by itself), got ${JSON.stringify(set.flags)}`,
      );
    }
  }
  checkCount(`${path}.timeout`, set.timeout, 0);
  checkCount(`${path}.size`, set.size, 1);
  if (set.elem !== undefined) checkElements(`${path}.elem`, set.elem);
}

function checkType(path: string, type: unknown): void {
  const parts = Array.isArray(type) ? type : [type];
  if (parts.length === 0 || !parts.every((p) => typeof p === 'string' && /^[a-z0-9_]+$/.test(p))) {
    throw invalid(
      path,
      `must be a type name like "ipv4_addr" or a list of them, got ${JSON.stringify(type)}`,
    );
  }
}

function checkElements(path: string, elem: unknown): void {
  if (!Array.isArray(elem) || elem.length === 0) throw invalid(path, 'must be a non-empty list of elements');
}

function checkRule(path: string, verb: Verb, rule: Record<string, unknown>): void {
  checkName(`${path}.chain`, rule.chain);
  checkCount(`${path}.index`, rule.index, 0);
  if ((verb === 'replace' || verb === 'delete') && rule.handle === undefined) {
    throw invalid(`${path}.handle`, `${verb} needs the rule's handle`);
  }
  if (verb === 'add' && rule.handle !== undefined) {
    throw invalid(`${path}.handle`, 'place an added rule with index (nft 1.0.6 ignores handle on add)');
  }
  if (rule.handle !== undefined && rule.index !== undefined) {
    throw invalid(path, 'give handle or index, not both');
  }
  if (verb === 'delete') return;
  if (rule.comment !== undefined && typeof rule.comment !== 'string') {
    throw invalid(`${path}.comment`, 'must be a string');
  }
  if (!Array.isArray(rule.expr)) throw invalid(`${path}.expr`, 'must be a list of statements');
  rule.expr.forEach((statement, i) => {
    const keyword = soleKey(statement);
    if (keyword === undefined)
      throw invalid(`${path}.expr[${i}]`, 'a statement is an object with exactly one key');
    if (!STATEMENTS.has(keyword))
      throw invalid(`${path}.expr[${i}]`, `unknown statement ${JSON.stringify(keyword)}`);
  });
}
