/**
 * What the forwarding tests and bench/forward.ts add to a testbed (startTestbed) before traffic flows:
 *   - the active director (A) owns the VIP on client0 and the floating gateway 198.51.100.1 on server0
 *     (until the cluster service does this);
 *   - an upstream router in the switch namespace (192.0.2.254 / 198.51.100.254), the return path of DR
 *     that avoids the directors;
 *   - on each real server, for DR: the VIP on loopback, arp_ignore=1 and arp_announce=2 (so they neither
 *     answer nor announce it), and a source route: replies from the VIP leave through the upstream
 *     router, while NAT replies (from the server's own address) take the default route to the gateway.
 */
import { prepareDrReturnPath, ROUTER_CLIENT_SIDE } from '../support/dr-return.ts';
import type { Testbed } from '../support/testbed.ts';

export async function prepareForForwarding(tb: Testbed): Promise<void> {
  const { vip, serverGateway } = tb.addresses;
  await tb.exec('a', ['ip', 'addr', 'replace', `${vip}/24`, 'dev', 'client0']);
  await tb.exec('a', ['ip', 'addr', 'replace', `${serverGateway}/24`, 'dev', 'server0']);
  await prepareDrReturnPath(tb);
}

/** The client reaches the real servers' own addresses through the upstream router (the "direct" path). */
export async function routeClientDirect(tb: Testbed): Promise<void> {
  await tb.exec('client', [
    'ip',
    'route',
    'replace',
    '198.51.100.0/24',
    'via',
    ROUTER_CLIENT_SIDE,
    'dev',
    'eth0',
  ]);
}

/**
 * Failover by hand: the VIP and the gateway leave `from` (whose links go down, as if it died) and come
 * up on `to`, which announces both with gratuitous ARP, as the takeover service will.
 */
export async function moveAddresses(tb: Testbed, from: 'a' | 'b', to: 'a' | 'b'): Promise<void> {
  const { vip, serverGateway } = tb.addresses;
  await tb.exec(from, ['ip', 'link', 'set', 'client0', 'down']);
  await tb.exec(from, ['ip', 'link', 'set', 'server0', 'down']);
  await tb.exec(from, ['ip', 'addr', 'del', `${vip}/24`, 'dev', 'client0'], { allowFail: true });
  await tb.exec(from, ['ip', 'addr', 'del', `${serverGateway}/24`, 'dev', 'server0'], { allowFail: true });
  await tb.exec(to, ['ip', 'addr', 'replace', `${vip}/24`, 'dev', 'client0']);
  await tb.exec(to, ['ip', 'addr', 'replace', `${serverGateway}/24`, 'dev', 'server0']);
  await Promise.all([
    tb.exec(to, ['arping', '-U', '-c', '2', '-w', '2', '-I', 'client0', '-s', vip, vip], { allowFail: true }),
    tb.exec(to, ['arping', '-U', '-c', '2', '-w', '2', '-I', 'server0', '-s', serverGateway, serverGateway], {
      allowFail: true,
    }),
  ]);
  // What the gratuitous ARP should have done, made certain: a loaded test machine can lose the race.
  const mac = async (dev: string): Promise<string> =>
    (JSON.parse((await tb.exec(to, ['ip', '-j', 'link', 'show', dev])).stdout) as { address: string }[])[0]
      ?.address ?? '';
  const [clientMac, serverMac] = [await mac('client0'), await mac('server0')];
  await tb.exec('client', [
    'ip',
    'neigh',
    'replace',
    vip,
    'lladdr',
    clientMac,
    'dev',
    'eth0',
    'nud',
    'reachable',
  ]);
  for (const rs of tb.realServers) {
    await tb.exec(rs.name, [
      'ip',
      'neigh',
      'replace',
      serverGateway,
      'lladdr',
      serverMac,
      'dev',
      'eth0',
      'nud',
      'reachable',
    ]);
  }
}

/** Brings a director's links back up (after moveAddresses took them down). */
export async function linksUp(tb: Testbed, node: 'a' | 'b'): Promise<void> {
  await tb.exec(node, ['ip', 'link', 'set', 'client0', 'up']);
  await tb.exec(node, ['ip', 'link', 'set', 'server0', 'up']);
}

/**
 * `count` HTTP GETs of `/` from the client, each on its own connection, in one curl: the body of each
 * answer is the real server's name. Returns how many each server answered.
 */
export async function spread(
  tb: Testbed,
  host: string,
  port: number,
  count: number,
): Promise<Map<string, number>> {
  const url = `http://${host}:${port}/?[1-${count}]`;
  const out = await tb.exec(
    'client',
    ['curl', '-sS', '--max-time', '30', '--connect-timeout', '3', '-H', 'Connection: close', url],
    { timeoutMs: 60_000, allowFail: true },
  );
  const tally = new Map<string, number>();
  for (const name of out.stdout.split('\n').filter((l) => /^rs\d+$/.test(l))) {
    tally.set(name, (tally.get(name) ?? 0) + 1);
  }
  return tally;
}
