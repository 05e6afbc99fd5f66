import { SupervisorError } from './errors.ts';
import type { ServiceSpec } from './types.ts';

/**
 * Checks a service table and returns it in dependency order (every service after what it needs; ties
 * keep the table's order). Throws SUPERVISOR_INVALID_SPEC naming the duplicate, the unknown need or the
 * cycle.
 */
export function dependencyOrder(specs: readonly ServiceSpec[]): ServiceSpec[] {
  const byName = new Map<string, ServiceSpec>();
  for (const spec of specs) {
    if (byName.has(spec.name)) {
      throw new SupervisorError('SUPERVISOR_INVALID_SPEC', `service ${spec.name} is listed twice`);
    }
    byName.set(spec.name, spec);
  }
  for (const spec of specs) {
    for (const need of spec.needs) {
      if (!byName.has(need)) {
        throw new SupervisorError(
          'SUPERVISOR_INVALID_SPEC',
          `service ${spec.name} needs ${need}, which is not in the table (${[...byName.keys()].join(', ')})`,
        );
      }
    }
  }
  const out: ServiceSpec[] = [];
  const done = new Set<string>();
  const visiting: string[] = [];
  const visit = (spec: ServiceSpec): void => {
    if (done.has(spec.name)) return;
    if (visiting.includes(spec.name)) {
      const cycle = [...visiting.slice(visiting.indexOf(spec.name)), spec.name];
      throw new SupervisorError('SUPERVISOR_INVALID_SPEC', `dependency cycle: ${cycle.join(' -> ')}`);
    }
    visiting.push(spec.name);
    for (const need of spec.needs) visit(byName.get(need) as ServiceSpec);
    visiting.pop();
    done.add(spec.name);
    out.push(spec);
  };
  for (const spec of specs) visit(spec);
  return out;
}

/** The services that need `name`, directly. */
export function dependentsOf(specs: readonly ServiceSpec[], name: string): string[] {
  return specs.filter((s) => s.needs.includes(name)).map((s) => s.name);
}
