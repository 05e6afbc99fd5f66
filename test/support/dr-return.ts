/**
 * The return path of direct routing on a testbed: an upstream router in the switch namespace
 * (192.0.2.254 / 198.51.100.254), and on each real server the VIP on loopback, arp_ignore=1 and
 * arp_announce=2 (so they neither answer nor announce it), and a source route: replies from the VIP leave
 * through the upstream router and never touch a director, while replies from the server's own address
 * take its default route (the floating gateway).
 */
import type { Testbed } from './testbed.ts';

export const ROUTER_CLIENT_SIDE = '192.0.2.254';
export const ROUTER_SERVER_SIDE = '198.51.100.254';
const DR_ROUTE_TABLE = '100';

async function sysctl(tb: Testbed, node: Parameters<Testbed['exec']>[0], settings: string[]): Promise<void> {
  await tb.exec(node, ['sysctl', '-qw', ...settings]);
}

export async function prepareDrReturnPath(tb: Testbed): Promise<void> {
  const { vip } = tb.addresses;
  await tb.exec('sw', ['ip', 'addr', 'replace', `${ROUTER_CLIENT_SIDE}/24`, 'dev', 'br-client']);
  await tb.exec('sw', ['ip', 'addr', 'replace', `${ROUTER_SERVER_SIDE}/24`, 'dev', 'br-server']);
  await sysctl(tb, 'sw', [
    'net.ipv4.ip_forward=1',
    'net.ipv4.conf.all.rp_filter=0',
    'net.ipv4.conf.default.rp_filter=0',
    'net.ipv4.conf.br-server.rp_filter=0',
    'net.ipv4.conf.br-client.rp_filter=0',
  ]);
  for (const rs of tb.realServers) {
    await sysctl(tb, rs.name, [
      'net.ipv4.conf.all.arp_ignore=1',
      'net.ipv4.conf.all.arp_announce=2',
      'net.ipv4.conf.eth0.arp_ignore=1',
      'net.ipv4.conf.eth0.arp_announce=2',
    ]);
    await tb.exec(rs.name, ['ip', 'addr', 'replace', `${vip}/32`, 'dev', 'lo']);
    await tb.exec(rs.name, [
      ...['ip', 'route', 'replace', 'default', 'via', ROUTER_SERVER_SIDE],
      ...['dev', 'eth0', 'table', DR_ROUTE_TABLE],
    ]);
    const rules = await tb.exec(rs.name, ['ip', 'rule', 'show']);
    if (!rules.stdout.includes(`from ${vip} lookup ${DR_ROUTE_TABLE}`)) {
      await tb.exec(rs.name, ['ip', 'rule', 'add', 'from', vip, 'table', DR_ROUTE_TABLE, 'priority', '100']);
    }
  }
}
