import type { Listing, TableCounters } from './types.ts';
import { isObject, soleKey } from './validate.ts';

/** Named counters, and each rule's first anonymous `counter` statement, from a table's listing. */
export function countersOf(listing: Listing): TableCounters {
  const out: TableCounters = { named: [], rules: [] };
  for (const item of listing.nftables) {
    if ('counter' in item) {
      const { name, handle, comment, packets, bytes } = item.counter;
      out.named.push({ name, handle, ...(comment === undefined ? {} : { comment }), packets, bytes });
    } else if ('rule' in item) {
      const { chain, handle, comment, expr } = item.rule;
      const statement = expr.find((s) => soleKey(s) === 'counter' && isObject(s.counter));
      const counter = statement?.counter;
      if (!isObject(counter)) continue;
      const packets = typeof counter.packets === 'number' ? counter.packets : 0;
      const bytes = typeof counter.bytes === 'number' ? counter.bytes : 0;
      out.rules.push({ chain, handle, ...(comment === undefined ? {} : { comment }), packets, bytes });
    }
  }
  return out;
}
