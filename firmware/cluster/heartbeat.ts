/**
 * The heartbeat process: forked by the cluster host (host.ts), it runs the links, the core and its one
 * timer, the ping node and the fence line, at real-time priority when the system allows. It never
 * starts a program after start-up: a fork blocks the event loop until the child has exec'd, which under
 * CPU load can take tens of milliseconds. The journal and the takeover live in the host and are reached
 * over the IPC channel. It ignores SIGTERM and SIGINT (the host leads the shutdown). When the host goes
 * away (killed), it stops its heartbeats, so the peer takes over, and removes the floating addresses
 * itself before it exits: nobody would defend them any more, and a kernel that keeps them keeps
 * answering ARP for them next to the new ACTIVE.
 */

import type { Board } from '../../board/types.ts';
import { buildDrivers, type Drivers } from '../../board/wiring.ts';
import { startTakeover } from '../takeover/service.ts';
import { Rpc, remoteHealth, remoteJournal, remoteTakeover } from './ipc.ts';
import { type ProcessConfig, serviceConfig } from './process-config.ts';
import { requestRealtime } from './realtime.ts';
import { type ClusterHandle, type ClusterLog, defaultClusterLog, startCluster } from './service.ts';
import type { Command } from './types.ts';

/** The host died while this node was ACTIVE: take the floating addresses down directly (bounded). */
async function releaseOrphaned(config: ProcessConfig, drivers: Drivers, log: ClusterLog): Promise<void> {
  const takeover = startTakeover({ net: drivers.net, clock: drivers.clock, config: config.takeover });
  const limit = new Promise<void>((resolve) => drivers.clock.setTimer(2000, resolve));
  try {
    await Promise.race([takeover.release(), limit]);
    log('warn', 'the host went away: released the floating addresses');
  } catch (err) {
    log('error', `the host went away and the addresses could not be released: ${String(err)}`);
  } finally {
    await takeover.close();
  }
}

export async function runHeartbeat(config: ProcessConfig, board: Board): Promise<number> {
  const log = defaultClusterLog('heartbeat');
  if (process.send === undefined) {
    log('error', 'the heartbeat process is started by the cluster host (main.ts without --heartbeat)');
    return 2;
  }
  process.on('SIGTERM', () => {});
  process.on('SIGINT', () => {});
  const drivers = buildDrivers(board);
  let cluster: ClusterHandle | undefined;
  const running = (): ClusterHandle => {
    if (cluster === undefined) throw new Error('the heartbeat is still starting');
    return cluster;
  };
  const rpc = new Rpc(process, {
    status: () => running().status(),
    command: (command: Command) => running().command(command),
  });
  const health = remoteHealth(rpc);
  const gone = new Promise<number>((resolve) => {
    process.once('disconnect', () => {
      rpc.close('the host went away');
      void (async () => {
        const wasActive = cluster?.status().role === 'ACTIVE';
        await cluster?.close();
        if (wasActive) await releaseOrphaned(config, drivers, log);
        await drivers.close();
        resolve(0);
      })();
    });
  });
  // Not reset on fork: the one program it starts, the link monitor (ip monitor) that reports the
  // heartbeat NIC's carrier, must not queue behind a loaded CPU either.
  const rt = config.realtime
    ? await requestRealtime(process.pid, { priority: 50, resetOnFork: false })
    : { ok: false, detail: 'not asked for' };
  log(rt.ok ? 'info' : 'warn', `real-time scheduling: ${rt.detail}`, { realtime: rt.ok });
  try {
    cluster = await startCluster({
      drivers,
      config: serviceConfig(config),
      journal: remoteJournal(rpc),
      takeover: remoteTakeover(rpc),
      health,
      log,
    });
  } catch (err) {
    log('error', `cannot start: ${err instanceof Error ? err.message : String(err)}`);
    rpc.notify('failed', err instanceof Error ? err.message : String(err));
    await drivers.close();
    return 1;
  }
  void cluster.exited.then(() => rpc.notify('exited'));
  rpc.notify('ready', { pid: process.pid, realtime: rt.ok });
  return gone;
}
