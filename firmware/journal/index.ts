/** The journal service: what other services and the board wiring import. */
export type {
  CommitResult,
  ConfigRef,
  Journal,
  JournalAlarmCode,
  JournalEvents,
  JournalStatus,
  JournalView,
} from './api.ts';
export type { Candidate, ConfigVersion } from './config.ts';
export type { CommitOutcome, Relation } from './core.ts';
export { type ConfigChange, diffConfig, formatDiff } from './diff.ts';
export { JournalError, type JournalErrorCode } from './errors.ts';
export type { LoggedEvent } from './events.ts';
export type { ClusterFacts } from './facts.ts';
export type { FeedItem, SubscribeOptions, Subscription } from './feed.ts';
export type { ServerHealth } from './health.ts';
export type { RecoveryOutcome } from './recovery.ts';
export { type JournalOptions, startJournal } from './service.ts';
export type { StickyBinding } from './sticky.ts';
export type { Conflict } from './store.ts';
export type * from './types.ts';
