import type Database from 'better-sqlite3';
import type { ChangeMap, ConfigDoc, Entry } from './types.ts';

/**
 * Versioned configuration: an editable candidate, numbered running versions (1, 2, …) that are never
 * rewritten, and rollback as a new version carrying an earlier version's document.
 */
export interface ConfigVersion {
  version: number;
  doc: ConfigDoc;
  comment: string;
  author: string;
  /** The version this one restored, when it was a rollback. */
  rollbackOf: number | null;
  seq: number;
  epoch: number;
  at: number;
}

export interface Candidate {
  doc: ConfigDoc;
  /** The running version the candidate was edited from (0 before the first commit). */
  baseVersion: number;
  author: string;
  seq: number;
  at: number;
}

interface VersionRow {
  version: number;
  doc: string;
  comment: string;
  author: string;
  rollback_of: number | null;
  seq: number;
  epoch: number;
  at: number;
}

interface CandidateRow {
  doc: string;
  base_version: number;
  author: string;
  seq: number;
  at: number;
}

const toVersion = (r: VersionRow): ConfigVersion => ({
  version: r.version,
  doc: JSON.parse(r.doc) as ConfigDoc,
  comment: r.comment,
  author: r.author,
  rollbackOf: r.rollback_of,
  seq: r.seq,
  epoch: r.epoch,
  at: r.at,
});

export class ConfigTable {
  private readonly insertVersion;
  private readonly upsertCandidate;
  private readonly deleteCandidate;
  private readonly selectRunning;
  private readonly selectVersion;
  private readonly selectVersions;
  private readonly selectCandidate;

  constructor(db: Database.Database) {
    this.insertVersion = db.prepare<[number, string, string, string, number | null, number, number, number]>(
      'INSERT INTO config_versions (version, doc, comment, author, rollback_of, seq, epoch, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.upsertCandidate = db.prepare<[string, number, string, number, number]>(
      'INSERT OR REPLACE INTO config_candidate (id, doc, base_version, author, seq, at) VALUES (1, ?, ?, ?, ?, ?)',
    );
    this.deleteCandidate = db.prepare('DELETE FROM config_candidate');
    this.selectRunning = db.prepare<[], VersionRow>(
      'SELECT * FROM config_versions ORDER BY version DESC LIMIT 1',
    );
    this.selectVersion = db.prepare<[number], VersionRow>('SELECT * FROM config_versions WHERE version = ?');
    this.selectVersions = db.prepare<[number], VersionRow>(
      'SELECT * FROM config_versions ORDER BY version DESC LIMIT ?',
    );
    this.selectCandidate = db.prepare<[], CandidateRow>('SELECT * FROM config_candidate WHERE id = 1');
  }

  apply(e: Entry): void {
    if (e.kind === 'config.candidate') this.applyCandidate(e.value, e.seq, e.at);
    else if (e.kind === 'config.commit') {
      const v = e.value;
      this.insertVersion.run(
        v.version,
        JSON.stringify(v.doc),
        v.comment,
        v.author,
        v.rollbackOf,
        e.seq,
        e.epoch,
        e.at,
      );
      if (v.fromCandidate) this.deleteCandidate.run();
    }
  }

  private applyCandidate(v: ChangeMap['config.candidate'], seq: number, at: number): void {
    if (v.doc === null) this.deleteCandidate.run();
    else this.upsertCandidate.run(JSON.stringify(v.doc), v.baseVersion, v.author, seq, at);
  }

  /** The running (latest) version, or undefined before the first commit. */
  running(): ConfigVersion | undefined {
    const r = this.selectRunning.get();
    return r && toVersion(r);
  }

  version(n: number): ConfigVersion | undefined {
    const r = this.selectVersion.get(n);
    return r && toVersion(r);
  }

  /** The newest `limit` versions, newest first. */
  versions(limit = 50): ConfigVersion[] {
    return this.selectVersions.all(limit).map(toVersion);
  }

  candidate(): Candidate | undefined {
    const r = this.selectCandidate.get();
    return (
      r && {
        doc: JSON.parse(r.doc) as ConfigDoc,
        baseVersion: r.base_version,
        author: r.author,
        seq: r.seq,
        at: r.at,
      }
    );
  }
}
