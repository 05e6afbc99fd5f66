/**
 * Two programs → one nftables batch that turns the first into the second in one transaction (pure).
 * Counters, chains and maps that stay are kept (counters keep counting); a changed chain is flushed and
 * refilled; the big slot maps change only in the slots whose server changed (delete, then add: the
 * kernel refuses to overwrite an element's value). With no previous program (first run, or after an
 * apply whose outcome is unknown) the table is rebuilt whole: added, deleted and created again in the
 * same batch, so whatever was there goes and the switch is still atomic.
 */
import type { Command, JsonValue, Statement, TableRef } from '../../../hal/packetfilter/types.ts';
import { type NftProgram, TABLE_KEYS, type TableProgram } from './program.ts';

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export interface BatchStats {
  commands: Command[];
  /** Map elements written or removed (the cost that grows with the slot tables). */
  elements: number;
}

export function diffPrograms(before: NftProgram | undefined, after: NftProgram): BatchStats {
  const out: BatchStats = { commands: [], elements: 0 };
  for (const key of TABLE_KEYS) {
    const prev = before?.tables[key];
    const next = after.tables[key];
    if (next === undefined) {
      // First run: whatever an earlier run left goes. Later: only a table this plane had.
      if (before === undefined || prev !== undefined) out.commands.push(...deleteTables([after.refs[key]]));
      continue;
    }
    const respec =
      prev !== undefined &&
      [...next.baseChains].some(([name, chain]) => {
        const old = prev.baseChains.get(name);
        return old !== undefined && !same(old, chain);
      });
    diffTable(prev, next, before === undefined || respec, out);
  }
  return out;
}

/** The commands that remove every table a program (or the defaults) could own: for a clean start. */
export function deleteTables(tables: readonly TableRef[]): Command[] {
  return tables.flatMap((t): Command[] => [{ add: { table: t } }, { delete: { table: t } }]);
}

function diffTable(
  prev: TableProgram | undefined,
  next: TableProgram,
  rebuild: boolean,
  out: BatchStats,
): void {
  const t = next.table;
  const at = { family: t.family, table: t.name };
  const cmd: Command[] = [];
  const p = rebuild ? undefined : prev;
  // 1. New counters, maps and chains (empty), so that rules and elements can refer to them.
  for (const [name, comment] of next.counters) {
    if (!p?.counters.has(name)) cmd.push({ add: { counter: { ...at, name, comment } } });
  }
  for (const [name, m] of next.maps) {
    const old = p?.maps.get(name);
    if (old === undefined) cmd.push({ add: { map: { ...at, name, type: m.spec.type, map: m.spec.map } } });
  }
  // A slot map is declared with its size: the kernel then picks its fixed-size hash for 32-bit keys.
  const slotMap = (name: string, size: number): Command => ({
    add: { map: { ...at, name, type: 'mark', map: 'mark', size } },
  });
  for (const [name, slots] of next.slotMaps) {
    if (!p?.slotMaps.has(name)) cmd.push(slotMap(name, slots.length));
  }
  for (const [name, chain] of next.baseChains) {
    if (!p?.baseChains.has(name) || !same(p.baseChains.get(name), chain)) cmd.push({ add: { chain } });
  }
  for (const name of next.rules.keys()) {
    if (!next.baseChains.has(name) && !p?.rules.has(name)) cmd.push({ add: { chain: { ...at, name } } });
  }
  // 2. Empty the chains whose rules change (this also drops their references to maps and counters).
  const refill: string[] = [];
  for (const [name, rules] of next.rules) {
    const old = p?.rules.get(name);
    if (old === undefined) {
      if (rules.length > 0) refill.push(name);
    } else if (!same(old, rules)) {
      cmd.push({ flush: { chain: { ...at, name } } });
      refill.push(name);
    }
  }
  if (p !== undefined) {
    for (const name of p.rules.keys()) {
      if (!next.rules.has(name)) cmd.push({ flush: { chain: { ...at, name } } });
    }
  }
  // 3. Map elements that go or change, and maps that go.
  const adds: Command[] = [];
  for (const [name, m] of next.maps) {
    const old = p?.maps.get(name);
    const gone: JsonValue[] = [];
    const added: JsonValue[] = [];
    for (const [k, v] of m.elems) {
      const was = old?.elems.get(k);
      if (was !== undefined && !same(was, v)) gone.push(k);
      if (was === undefined || !same(was, v)) added.push([k, v]);
    }
    for (const k of old?.elems.keys() ?? []) if (!m.elems.has(k)) gone.push(k);
    elements(cmd, 'delete', at, name, gone, out);
    elements(adds, 'add', at, name, added, out);
  }
  for (const [name, slots] of next.slotMaps) {
    let old = p?.slotMaps.get(name);
    if (old !== undefined && old.length !== slots.length) {
      // Resized: the service's rule (its jhash modulus) changed too, so the chain was flushed above.
      cmd.push({ delete: { map: { ...at, name } } }, slotMap(name, slots.length));
      old = undefined;
    }
    const gone: JsonValue[] = [];
    const added: JsonValue[] = [];
    for (let k = 0; k < Math.max(slots.length, old?.length ?? 0); k++) {
      const was = old === undefined || k >= old.length ? -1 : (old[k] as number);
      const now = k >= slots.length ? -1 : (slots[k] as number);
      if (was === now) continue;
      if (was >= 0) gone.push(k);
      if (now >= 0) added.push([k, now]);
    }
    elements(cmd, 'delete', at, name, gone, out);
    elements(adds, 'add', at, name, added, out);
  }
  // Dynamic sets that go or change (their rules were flushed above); new ones come with the rules.
  const newSets: Command[] = [];
  for (const [name, set] of next.sets) {
    const old = p?.sets.get(name);
    if (old !== undefined && same(old, set)) continue;
    if (old !== undefined) cmd.push({ delete: { set: { ...at, name } } });
    newSets.push({
      add: {
        set: { ...at, name, type: [...set.type], flags: ['timeout'], timeout: set.timeout, size: set.size },
      },
    });
  }
  if (p !== undefined) {
    for (const name of p.sets.keys()) {
      if (!next.sets.has(name)) cmd.push({ delete: { set: { ...at, name } } });
    }
    for (const name of p.maps.keys())
      if (!next.maps.has(name)) cmd.push({ delete: { map: { ...at, name } } });
    for (const name of p.slotMaps.keys()) {
      if (!next.slotMaps.has(name)) cmd.push({ delete: { map: { ...at, name } } });
    }
    // 4. Chains and counters that go, now that nothing refers to them.
    for (const name of p.rules.keys()) {
      if (!next.rules.has(name)) cmd.push({ delete: { chain: { ...at, name } } });
    }
    for (const name of p.counters.keys()) {
      if (!next.counters.has(name)) cmd.push({ delete: { counter: { ...at, name } } });
    }
  }
  // 5. New elements, then the rules: server chains first, base chains last.
  cmd.push(...adds, ...newSets);
  const order = [
    ...refill.filter((n) => !next.baseChains.has(n)),
    ...refill.filter((n) => next.baseChains.has(n)),
  ];
  for (const name of order) {
    for (const expr of next.rules.get(name) as Statement[][]) {
      cmd.push({ add: { rule: { ...at, chain: name, expr } } });
    }
  }
  if (p !== undefined && cmd.length === 0) return;
  out.commands.push(
    { add: { table: t } },
    ...(p === undefined ? [{ delete: { table: t } }, { add: { table: t } }] : []),
    ...cmd,
  );
}

function elements(
  into: Command[],
  verb: 'add' | 'delete',
  at: { family: TableRef['family']; table: string },
  name: string,
  elem: JsonValue[],
  out: BatchStats,
): void {
  if (elem.length === 0) return;
  out.elements += elem.length;
  into.push(
    verb === 'add'
      ? { add: { element: { ...at, name, elem } } }
      : { delete: { element: { ...at, name, elem } } },
  );
}
