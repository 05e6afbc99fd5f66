/** The journal's access socket: the owner serves it, every other service connects to it. */

export type { JournalView } from '../api.ts';
export { connectJournal } from './client.ts';
export { type Hello, type JournalServer, type ServeJournalOptions, serveJournal } from './server.ts';
export type { ConnectJournalOptions, RemoteJournal } from './types.ts';
