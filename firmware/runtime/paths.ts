/**
 * Where an appliance's processes meet: every service derives the same paths from its board, so no
 * service needs another's socket on its command line. All live next to the journal file.
 */
import { dirname, join } from 'node:path';
import type { Board } from '../../board/types.ts';

export interface RuntimePaths {
  /** The node's state directory (journal, sockets, boot record). */
  readonly dir: string;
  /** The journal's access socket, served by the cluster host (which owns the journal). */
  readonly journalSocket: string;
  /** The cluster's control socket (firmware/cluster/control.ts). */
  readonly clusterSocket: string;
  /** The supervisor's control socket (status, restart, factory reset, shutdown). */
  readonly supervisorSocket: string;
  /** Sim boards only: the panel process serves its simulated GPIO chip here (press buttons, read LEDs). */
  readonly panelSimSocket: string;
}

export function runtimePaths(board: Board): RuntimePaths {
  const dir = dirname(board.storage.journalPath);
  return {
    dir,
    journalSocket: join(dir, 'journal.sock'),
    clusterSocket: join(dir, 'cluster.sock'),
    supervisorSocket: join(dir, 'supervisor.sock'),
    panelSimSocket: join(dir, 'panel-sim.sock'),
  };
}
