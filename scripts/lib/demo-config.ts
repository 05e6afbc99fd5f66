/**
 * The configuration the demo commits on the simulated pair: one web service on the VIP, port 80, NAT (the
 * real servers' default route is the floating gateway, so they need no change) with Maglev hashing over
 * the testbed's real servers, an HTTP check on each every 500 ms (down after 2 failures, up after 2
 * successes; quiesced, so established connections drain), the floating addresses, and a console user
 * `admin` whose password the demo prints.
 */
import type { Topology } from '../../board/sim/testbed/topology.ts';
import { hashPassword } from '../../firmware/config/password.ts';
import type { ApplianceConfig } from '../../firmware/config/schema.ts';

export const DEMO_USER = 'admin';
export const DEMO_PASSWORD = 'tandem';

export async function demoConfig(topology: Topology): Promise<ApplianceConfig> {
  const { vip, serverGateway } = topology.addresses;
  return {
    cluster: {},
    services: [
      {
        name: 'web',
        vip,
        protocol: 'tcp',
        port: 80,
        method: 'nat',
        scheduler: 'mh',
        servers: topology.realServers.map((rs) => ({ name: rs.name, address: rs.address, port: rs.port })),
      },
    ],
    checks: [{ service: 'web', kind: 'http', path: '/', intervalMs: 500, timeoutMs: 400, rise: 2, fall: 2 }],
    users: [{ name: DEMO_USER, hash: await hashPassword(DEMO_PASSWORD), role: 'admin' }],
    takeover: {
      addresses: [
        { link: 'client0', cidr: `${vip}/24` },
        { link: 'server0', cidr: `${serverGateway}/24` },
      ],
    },
  };
}
