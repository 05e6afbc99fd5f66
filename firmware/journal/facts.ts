import type Database from 'better-sqlite3';
import type { ClusterRole, Entry } from './types.ts';

/** What the cluster knows about itself: the epoch and its leader, each node's role, what each saw of its peer. */
export interface ClusterFacts {
  epoch: number;
  leader: string | null;
  roles: Record<string, ClusterRole>;
  peers: Record<string, { address: string; state: string; seenAt: number }>;
}

interface Row {
  name: string;
  value: string;
}

export class FactsTable {
  private readonly upsert;
  private readonly selectAll;

  constructor(db: Database.Database) {
    this.upsert = db.prepare<[string, string, number]>(
      'INSERT OR REPLACE INTO cluster_facts (name, value, seq) VALUES (?, ?, ?)',
    );
    this.selectAll = db.prepare<[], Row>('SELECT name, value FROM cluster_facts ORDER BY name');
  }

  apply(e: Entry): void {
    if (e.kind === 'journal.epoch') this.upsert.run('epoch', JSON.stringify(e.value), e.seq);
    else if (e.kind === 'cluster.role')
      this.upsert.run(`role:${e.value.node}`, JSON.stringify(e.value.role), e.seq);
    else if (e.kind === 'cluster.peer') {
      const { node, ...rest } = e.value;
      this.upsert.run(`peer:${node}`, JSON.stringify(rest), e.seq);
    }
  }

  get(): ClusterFacts {
    const facts: ClusterFacts = { epoch: 0, leader: null, roles: {}, peers: {} };
    for (const { name, value } of this.selectAll.all()) {
      const v: unknown = JSON.parse(value);
      if (name === 'epoch') {
        const e = v as { epoch: number; leader: string };
        facts.epoch = e.epoch;
        facts.leader = e.leader;
      } else if (name.startsWith('role:')) facts.roles[name.slice(5)] = v as ClusterRole;
      else if (name.startsWith('peer:')) facts.peers[name.slice(5)] = v as ClusterFacts['peers'][string];
    }
    return facts;
  }
}
