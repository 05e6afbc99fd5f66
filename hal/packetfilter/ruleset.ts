/**
 * An nftables ruleset in memory, with the semantics nft 1.0.6 on Linux 6.x showed when measured: `add`
 * leaves existing objects alone (a base chain's policy is updated), `create` fails on them, deletes fail
 * on missing objects and on chains, sets and counters rules still use, a chain goes with its rules, and a
 * batch applies whole or not at all. Handles come from one counter per table, tables from one counter.
 */
import { HalError } from '../errors.ts';
import { canonicalValue, ElementError, unwrap } from './elements.ts';
import type {
  Batch,
  Chain,
  ChainType,
  Counter,
  Element,
  Family,
  Hook,
  JsonValue,
  ListedObject,
  Listing,
  NftMap,
  Policy,
  Rule,
  Statement,
  Table,
  TableRef,
} from './types.ts';
import { isObject, soleKey } from './validate.ts';

interface RuleState {
  handle: number;
  comment?: string;
  expr: Statement[];
}

interface ChainState {
  name: string;
  handle: number;
  base?: { type: ChainType; hook: Hook; prio: number; dev?: string; policy: Policy };
  rules: RuleState[];
}

interface StoredElement {
  /** As listed: the key (wrapped when given with options), or [key, value] for a map. */
  listed: JsonValue;
  value?: JsonValue;
}

interface SetState {
  kind: 'set' | 'map';
  name: string;
  handle: number;
  spec: Omit<NftMap, 'family' | 'table' | 'name' | 'handle' | 'elem'>;
  elems: Map<string, StoredElement>;
}

interface CounterState {
  name: string;
  handle: number;
  comment?: string;
  packets: number;
  bytes: number;
}

interface TableState {
  family: Family;
  name: string;
  handle: number;
  nextHandle: number;
  chains: Map<string, ChainState>;
  sets: Map<string, SetState>;
  counters: Map<string, CounterState>;
}

interface State {
  tables: Map<string, TableState>;
  nextTableHandle: number;
}

const ENOENT = 'No such file or directory';
const EEXIST = 'File exists';
const EBUSY = 'Device or resource busy';
const EOPNOTSUPP = 'Operation not supported';
const EINVAL = 'Invalid argument';

function refused(path: string, errno: string, detail: string): HalError {
  return new HalError('HAL_INVALID_ARGUMENT', `nft rejected the batch: ${path}: ${detail}: ${errno}`, {
    device: 'nftables',
  });
}

function tableKey(family: Family, name: string): string {
  return `${family} ${name}`;
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

/** Chains, sets and named counters that `value` refers to (jump/goto targets, "@set", counter "name"). */
function references(
  value: unknown,
  out = { chains: new Set<string>(), sets: new Set<string>(), counters: new Set<string>() },
) {
  if (typeof value === 'string') {
    if (value.startsWith('@')) out.sets.add(value.slice(1));
  } else if (Array.isArray(value)) {
    for (const v of value) references(v, out);
  } else if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      if ((key === 'jump' || key === 'goto') && isObject(v) && typeof v.target === 'string')
        out.chains.add(v.target);
      if (key === 'counter' && typeof v === 'string') out.counters.add(v);
      references(v, out);
    }
  }
  return out;
}

export class Ruleset {
  private state: State = { tables: new Map(), nextTableHandle: 1 };

  /** Applies a validated batch atomically: on any error the ruleset is unchanged. */
  apply(batch: Batch): void {
    const working = copy(this.state);
    batch.nftables.forEach((command, i) => {
      new Transaction(working, `nftables[${i}]`).run(command);
    });
    this.state = working;
  }

  /** The table as nft lists it; HAL_NOT_FOUND when it does not exist. */
  list(ref: TableRef): Listing {
    const t = this.table(ref);
    const { family, name: table } = t;
    const out: ListedObject[] = [{ table: { family, name: table, handle: t.handle } }];
    for (const c of t.counters.values()) {
      out.push({
        counter: {
          family,
          name: c.name,
          table,
          handle: c.handle,
          ...(c.comment === undefined ? {} : { comment: c.comment }),
          packets: c.packets,
          bytes: c.bytes,
        },
      });
    }
    for (const s of t.sets.values()) {
      const { type, map, ...rest } = s.spec;
      const body = {
        family,
        name: s.name,
        table,
        type: type as string | string[],
        handle: s.handle,
        ...(s.kind === 'map' ? { map: map as string | string[] } : {}),
        ...rest,
        ...(s.elems.size === 0 ? {} : { elem: [...s.elems.values()].map((e) => copy(e.listed)) }),
      };
      out.push(s.kind === 'map' ? { map: body } : { set: body });
    }
    for (const c of t.chains.values()) {
      // nft 1.0.6 does not list a netdev chain's device.
      const base =
        c.base === undefined
          ? {}
          : { type: c.base.type, hook: c.base.hook, prio: c.base.prio, policy: c.base.policy };
      out.push({ chain: { family, table, name: c.name, handle: c.handle, ...base } });
    }
    for (const c of t.chains.values()) {
      for (const r of c.rules) {
        out.push({
          rule: {
            family,
            table,
            chain: c.name,
            handle: r.handle,
            ...(r.comment === undefined ? {} : { comment: r.comment }),
            expr: copy(r.expr),
          },
        });
      }
    }
    return { nftables: out };
  }

  /** Test hook: traffic through a named counter. */
  bumpCounter(ref: TableRef, name: string, packets: number, bytes: number): void {
    const counter = this.table(ref).counters.get(name);
    if (counter === undefined) {
      throw new HalError('HAL_NOT_FOUND', `no counter ${name} in table ${ref.family} ${ref.name}`, {
        device: 'nftables',
      });
    }
    counter.packets += packets;
    counter.bytes += bytes;
  }

  /** Test hook: traffic through the anonymous counter of the rule with `handle` in `chain`. */
  bumpRule(ref: TableRef, chain: string, handle: number, packets: number, bytes: number): void {
    const rule = this.table(ref)
      .chains.get(chain)
      ?.rules.find((r) => r.handle === handle);
    const statement = rule?.expr.find((s) => soleKey(s) === 'counter' && isObject(s.counter));
    const counter = statement?.counter as { packets: number; bytes: number } | undefined;
    if (counter === undefined) {
      throw new HalError(
        'HAL_NOT_FOUND',
        `no counted rule ${handle} in chain ${chain} of ${ref.family} ${ref.name}`,
        {
          device: 'nftables',
        },
      );
    }
    counter.packets += packets;
    counter.bytes += bytes;
  }

  private table(ref: TableRef): TableState {
    const t = this.state.tables.get(tableKey(ref.family, ref.name));
    if (t === undefined) {
      throw new HalError('HAL_NOT_FOUND', `table ${ref.family} ${ref.name} does not exist: ${ENOENT}`, {
        device: 'nftables',
      });
    }
    return t;
  }
}

/** One command applied to a working copy of the state. */
class Transaction {
  constructor(
    private readonly state: State,
    private readonly path: string,
  ) {}

  run(command: Batch['nftables'][number]): void {
    const [verb, wrapped] = Object.entries(command)[0] as [string, Record<string, unknown>];
    const [kind, body] = Object.entries(wrapped)[0] as [string, never];
    const where = `${this.path}.${verb}.${kind}`;
    const op = `${verb} ${kind}`;
    switch (op) {
      case 'add table':
      case 'create table':
        this.addTable(where, body as Table, verb === 'create');
        return;
      case 'delete table':
        this.deleteTable(where, body as Table);
        return;
      case 'flush table':
        for (const c of this.table(where, body as Table).chains.values()) c.rules = [];
        return;
      case 'add chain':
      case 'create chain':
        this.addChain(where, body as Chain, verb === 'create');
        return;
      case 'delete chain':
        this.deleteChain(where, body as Chain);
        return;
      case 'flush chain':
        this.chain(where, body as Chain).rules = [];
        return;
      case 'add rule':
      case 'insert rule':
      case 'replace rule':
        this.putRule(where, verb, body as Rule);
        return;
      case 'delete rule':
        this.deleteRule(where, body as Rule);
        return;
      case 'add set':
      case 'create set':
      case 'add map':
      case 'create map':
        this.addSet(where, kind as 'set' | 'map', body as NftMap, verb === 'create');
        return;
      case 'delete set':
      case 'delete map':
        this.deleteSet(where, kind as 'set' | 'map', body as NftMap);
        return;
      case 'flush set':
      case 'flush map':
        this.set(where, kind as 'set' | 'map', body as NftMap).elems.clear();
        return;
      case 'add element':
      case 'create element':
        this.addElements(where, body as Element, verb === 'create');
        return;
      case 'delete element':
        this.deleteElements(where, body as Element);
        return;
      case 'add counter':
      case 'create counter':
        this.addCounter(where, body as Counter, verb === 'create');
        return;
      case 'delete counter':
        this.deleteCounter(where, body as Counter);
        return;
      default:
        throw refused(where, EINVAL, `${op} is not supported`);
    }
  }

  private table(where: string, ref: { family: Family; name?: string; handle?: number }): TableState {
    for (const t of this.state.tables.values()) {
      if (t.family !== ref.family) continue;
      if (ref.name !== undefined ? t.name === ref.name : t.handle === ref.handle) return t;
    }
    throw refused(where, ENOENT, `table ${ref.family} ${ref.name ?? `handle ${ref.handle}`} does not exist`);
  }

  private tableOf(where: string, body: { family: Family; table: string }): TableState {
    return this.table(where, { family: body.family, name: body.table });
  }

  private handle(t: TableState): number {
    return t.nextHandle++;
  }

  private addTable(where: string, table: Table, create: boolean): void {
    const key = tableKey(table.family, table.name);
    if (this.state.tables.has(key)) {
      if (create) throw refused(where, EEXIST, `table ${table.family} ${table.name} exists`);
      return;
    }
    this.state.tables.set(key, {
      family: table.family,
      name: table.name,
      handle: this.state.nextTableHandle++,
      nextHandle: 1,
      chains: new Map(),
      sets: new Map(),
      counters: new Map(),
    });
  }

  private deleteTable(where: string, ref: Table): void {
    const t = this.table(where, ref);
    this.state.tables.delete(tableKey(t.family, t.name));
  }

  private chain(where: string, ref: Chain): ChainState {
    const t = this.tableOf(where, ref);
    const c =
      ref.name !== undefined
        ? t.chains.get(ref.name)
        : [...t.chains.values()].find((x) => x.handle === ref.handle);
    if (c === undefined)
      throw refused(where, ENOENT, `chain ${ref.name ?? `handle ${ref.handle}`} does not exist`);
    return c;
  }

  private addChain(where: string, chain: Chain, create: boolean): void {
    const t = this.tableOf(where, chain);
    const name = chain.name as string;
    const wanted =
      chain.hook === undefined
        ? undefined
        : {
            type: chain.type as ChainType,
            hook: chain.hook,
            prio: chain.prio as number,
            ...(chain.dev === undefined ? {} : { dev: chain.dev }),
            policy: chain.policy ?? 'accept',
          };
    const existing = t.chains.get(name);
    if (existing === undefined) {
      t.chains.set(name, { name, handle: this.handle(t), ...(wanted ? { base: wanted } : {}), rules: [] });
      return;
    }
    if (create) throw refused(where, EEXIST, `chain ${name} exists`);
    if (wanted === undefined) return;
    const base = existing.base;
    if (
      base === undefined ||
      base.hook !== wanted.hook ||
      base.prio !== wanted.prio ||
      base.dev !== wanted.dev
    ) {
      throw refused(where, EOPNOTSUPP, `chain ${name} exists with another hook`);
    }
    if (base.type !== wanted.type)
      throw refused(where, EEXIST, `chain ${name} exists with type ${base.type}`);
    if (chain.policy !== undefined) base.policy = chain.policy;
  }

  private deleteChain(where: string, ref: Chain): void {
    const t = this.tableOf(where, ref);
    const c = this.chain(where, ref);
    for (const other of t.chains.values()) {
      if (other === c) continue;
      if (other.rules.some((r) => references(r.expr).chains.has(c.name))) {
        throw refused(where, EBUSY, `chain ${c.name} is the target of a rule in chain ${other.name}`);
      }
    }
    for (const s of t.sets.values()) {
      if ([...s.elems.values()].some((e) => references(e.value).chains.has(c.name))) {
        throw refused(where, EBUSY, `chain ${c.name} is the target of an element of map ${s.name}`);
      }
    }
    t.chains.delete(c.name);
  }

  private putRule(where: string, verb: string, rule: Rule): void {
    const t = this.tableOf(where, rule);
    const c = this.chain(where, { family: rule.family, table: rule.table, name: rule.chain });
    const expr = (rule.expr ?? []).map(normalizeStatement);
    const refs = references(expr);
    for (const target of refs.chains) {
      if (!t.chains.has(target))
        throw refused(where, ENOENT, `jump/goto target chain ${target} does not exist`);
    }
    for (const set of refs.sets) {
      if (!t.sets.has(set)) throw refused(where, ENOENT, `set @${set} does not exist`);
    }
    for (const counter of refs.counters) {
      if (!t.counters.has(counter)) throw refused(where, ENOENT, `counter ${counter} does not exist`);
    }
    const comment = rule.comment === undefined ? {} : { comment: rule.comment };
    if (verb === 'replace') {
      const at = c.rules.findIndex((r) => r.handle === rule.handle);
      if (at < 0) throw refused(where, ENOENT, `no rule with handle ${rule.handle} in chain ${c.name}`);
      c.rules[at] = { handle: rule.handle as number, ...comment, expr };
      return;
    }
    let at: number;
    if (rule.index !== undefined) {
      if (rule.index >= c.rules.length)
        throw refused(where, ENOENT, `no rule at index ${rule.index} in chain ${c.name}`);
      at = verb === 'add' ? rule.index + 1 : rule.index;
    } else if (rule.handle !== undefined) {
      at = c.rules.findIndex((r) => r.handle === rule.handle);
      if (at < 0) throw refused(where, ENOENT, `no rule with handle ${rule.handle} in chain ${c.name}`);
    } else {
      at = verb === 'add' ? c.rules.length : 0;
    }
    c.rules.splice(at, 0, { handle: this.handle(t), ...comment, expr });
  }

  private deleteRule(where: string, rule: Rule): void {
    const c = this.chain(where, { family: rule.family, table: rule.table, name: rule.chain });
    const at = c.rules.findIndex((r) => r.handle === rule.handle);
    if (at < 0) throw refused(where, ENOENT, `no rule with handle ${rule.handle} in chain ${c.name}`);
    c.rules.splice(at, 1);
  }

  private set(where: string, kind: 'set' | 'map', ref: NftMap): SetState {
    const t = this.tableOf(where, ref);
    const s =
      ref.name !== undefined
        ? t.sets.get(ref.name)
        : [...t.sets.values()].find((x) => x.handle === ref.handle);
    if (s === undefined || s.kind !== kind) {
      throw refused(where, ENOENT, `${kind} ${ref.name ?? `handle ${ref.handle}`} does not exist`);
    }
    return s;
  }

  private addSet(where: string, kind: 'set' | 'map', body: NftMap, create: boolean): void {
    const t = this.tableOf(where, body);
    const { family: _f, table: _t, name, handle: _h, elem, ...spec } = body;
    const existing = t.sets.get(name as string);
    if (existing !== undefined) {
      if (create) throw refused(where, EEXIST, `${existing.kind} ${name} exists`);
      if (existing.kind !== kind || JSON.stringify(existing.spec) !== JSON.stringify(sortedSpec(spec))) {
        throw refused(where, EEXIST, `${existing.kind} ${name} exists with another declaration`);
      }
    } else {
      t.sets.set(name as string, {
        kind,
        name: name as string,
        handle: this.handle(t),
        spec: sortedSpec(spec),
        elems: new Map(),
      });
    }
    if (elem !== undefined) {
      this.addElements(where, { family: body.family, table: body.table, name: name as string, elem }, false);
    }
  }

  private deleteSet(where: string, kind: 'set' | 'map', ref: NftMap): void {
    const t = this.tableOf(where, ref);
    const s = this.set(where, kind, ref);
    for (const c of t.chains.values()) {
      if (c.rules.some((r) => references(r.expr).sets.has(s.name))) {
        throw refused(where, EBUSY, `${kind} ${s.name} is used by a rule in chain ${c.name}`);
      }
    }
    t.sets.delete(s.name);
  }

  private element(where: string, t: TableState, s: SetState, raw: JsonValue, forDelete: boolean) {
    const interval = s.spec.flags?.includes('interval') ?? false;
    let keyPart = raw;
    let value: JsonValue | undefined;
    if (s.kind === 'map') {
      if (Array.isArray(raw) && raw.length === 2) {
        keyPart = raw[0] as JsonValue;
        value = raw[1] as JsonValue;
      } else if (!forDelete) {
        throw refused(where, EINVAL, `map ${s.name} elements are [key, value] pairs`);
      }
    } else if (Array.isArray(raw)) {
      throw refused(where, EINVAL, `set ${s.name} is not a map`);
    }
    const { key, rewrap } = unwrap(keyPart);
    try {
      const canonicalKey = canonicalValue(s.spec.type as string | string[], key, interval);
      const canonical =
        value === undefined ? undefined : canonicalValue(s.spec.map as string | string[], value, false);
      if (canonical !== undefined) {
        for (const target of references(canonical).chains) {
          if (!t.chains.has(target))
            throw refused(where, ENOENT, `jump/goto target chain ${target} does not exist`);
        }
      }
      const listed = canonical === undefined ? rewrap(canonicalKey) : [rewrap(canonicalKey), canonical];
      return { id: JSON.stringify(canonicalKey), listed, value: canonical };
    } catch (err) {
      if (err instanceof ElementError) throw refused(where, EINVAL, err.message);
      throw err;
    }
  }

  private addElements(where: string, body: Element, create: boolean): void {
    const t = this.tableOf(where, body);
    const s = t.sets.get(body.name);
    if (s === undefined) throw refused(where, ENOENT, `set or map ${body.name} does not exist`);
    for (const raw of body.elem) {
      const e = this.element(where, t, s, raw, false);
      const existing = s.elems.get(e.id);
      if (existing !== undefined) {
        if (create) throw refused(where, EEXIST, `element ${e.id} is already in ${s.name}`);
        if (JSON.stringify(existing.value) !== JSON.stringify(e.value)) {
          throw refused(where, EEXIST, `element ${e.id} is already in ${s.name} with another value`);
        }
        continue;
      }
      s.elems.set(e.id, e.value === undefined ? { listed: e.listed } : { listed: e.listed, value: e.value });
    }
  }

  private deleteElements(where: string, body: Element): void {
    const t = this.tableOf(where, body);
    const s = t.sets.get(body.name);
    if (s === undefined) throw refused(where, ENOENT, `set or map ${body.name} does not exist`);
    for (const raw of body.elem) {
      const e = this.element(where, t, s, raw, true);
      if (!s.elems.delete(e.id)) throw refused(where, ENOENT, `element ${e.id} is not in ${s.name}`);
    }
  }

  private addCounter(where: string, counter: Counter, create: boolean): void {
    const t = this.tableOf(where, counter);
    const name = counter.name as string;
    if (t.counters.has(name)) {
      if (create) throw refused(where, EEXIST, `counter ${name} exists`);
      return;
    }
    t.counters.set(name, {
      name,
      handle: this.handle(t),
      ...(counter.comment === undefined ? {} : { comment: counter.comment }),
      packets: counter.packets ?? 0,
      bytes: counter.bytes ?? 0,
    });
  }

  private deleteCounter(where: string, ref: Counter): void {
    const t = this.tableOf(where, ref);
    const c =
      ref.name !== undefined
        ? t.counters.get(ref.name)
        : [...t.counters.values()].find((x) => x.handle === ref.handle);
    if (c === undefined)
      throw refused(where, ENOENT, `counter ${ref.name ?? `handle ${ref.handle}`} does not exist`);
    for (const chain of t.chains.values()) {
      if (chain.rules.some((r) => references(r.expr).counters.has(c.name))) {
        throw refused(where, EBUSY, `counter ${c.name} is used by a rule in chain ${chain.name}`);
      }
    }
    t.counters.delete(c.name);
  }
}

/** nft lists an anonymous counter with its values: `{ counter: null }` becomes `{ counter: { packets: 0, bytes: 0 } }`. */
function normalizeStatement(statement: Statement): Statement {
  const out = copy(statement);
  if (soleKey(out) === 'counter' && (out.counter === null || isObject(out.counter))) {
    const given = (out.counter ?? {}) as { packets?: JsonValue; bytes?: JsonValue };
    out.counter = {
      packets: typeof given.packets === 'number' ? given.packets : 0,
      bytes: typeof given.bytes === 'number' ? given.bytes : 0,
    };
  }
  return out;
}

/** Declarations compare equal regardless of key order. */
function sortedSpec(spec: SetState['spec']): SetState['spec'] {
  const order = ['type', 'map', 'flags', 'timeout', 'size', 'comment'] as const;
  const out: Record<string, unknown> = {};
  for (const key of order) if (spec[key] !== undefined) out[key] = copy(spec[key]);
  return out as SetState['spec'];
}
