/** The console service: what the supervisor and the board wiring import. */
export type {
  ActionOptions,
  ConfigStore,
  ConsoleBackend,
  JournalView,
  LinkView,
  PingResult,
  TrafficCounters,
  TrafficView,
  VersionInfo,
} from './backend.ts';
export { ConsoleError, type ConsoleErrorCode } from './errors.ts';
export { type JournalBackendOptions, journalBackend } from './journal-backend.ts';
export { DEFAULT_LOGIN_POLICY, type LoginPolicy } from './login.ts';
export { type ConsoleHandle, type ConsoleOptions, startConsole } from './service.ts';
export type { ConsoleLog } from './shell.ts';
