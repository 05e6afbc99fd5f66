/**
 * A whole appliance's worth of status behind a real metrics server, for the page test and the
 * screenshot script: cluster and supervisor on real control sockets, a journal with server health, and
 * forwarding counters that grow by a fixed amount per reading (so the page shows rates and shares).
 */
import { Collector } from '../../firmware/metrics/collector.ts';
import { type MetricsServer, startMetricsServer } from '../../firmware/metrics/server.ts';
import {
  clusterSocketSource,
  journalSource,
  supervisorSocketSource,
} from '../../firmware/metrics/sources.ts';
import type { TrafficView } from '../../firmware/metrics/views.ts';
import { LinuxClock } from '../../hal/clock/linux.ts';
import { answeringSocket, clusterStatus, healthRows, socketDir, supervisorStatus } from './fixtures.ts';

export interface StatusWorld {
  readonly url: string;
  close(): Promise<void>;
}

function traffic(n: number): TrafficView {
  const server = (address: string, per: number) => ({
    address,
    port: '*',
    packets: n * per * 9,
    bytes: n * per * 9 * 700,
    connections: n * per,
  });
  const servers = [server('198.51.100.11', 60), server('198.51.100.12', 40), server('198.51.100.13', 0)];
  return {
    services: [
      {
        name: 'web',
        method: 'dr',
        packets: servers.reduce((a, s) => a + s.packets, 0),
        bytes: servers.reduce((a, s) => a + s.bytes, 0),
        connections: n * 100,
        servers,
      },
    ],
  };
}

export async function startStatusWorld(): Promise<StatusWorld> {
  const dir = socketDir();
  const cluster = await answeringSocket(dir.path('cluster.sock'), () => clusterStatus());
  const sup = await answeringSocket(dir.path('supervisor.sock'), () =>
    supervisorStatus({ panel: 'backoff' }),
  );
  let readings = 0;
  const collector = new Collector({
    clock: new LinuxClock(),
    node: 'a',
    timeoutMs: 300,
    sources: {
      cluster: clusterSocketSource(cluster.path),
      supervisor: supervisorSocketSource(sup.path),
      forward: async () => {
        readings += 1;
        return traffic(readings);
      },
      journal: journalSource({
        status: () => ({
          role: 'leader',
          epoch: 7,
          head: 420,
          floor: 1,
          recovering: false,
          relation: 'source',
          lag: 2,
        }),
        health: { all: () => healthRows() },
      }),
    },
  });
  let server: MetricsServer;
  try {
    server = await startMetricsServer(collector, { host: '127.0.0.1', port: 0 }, { title: 'Tandem a' });
  } catch (err) {
    await cluster.close();
    await sup.close();
    dir.cleanup();
    throw err;
  }
  return {
    url: `http://127.0.0.1:${server.port}/`,
    close: async () => {
      await server.close();
      await sup.close();
      await cluster.close();
      dir.cleanup();
    },
  };
}
