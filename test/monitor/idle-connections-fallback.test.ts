/** The same kept-alive connections as idle-connections.test.ts, on the net.Socket path (no tcp_wrap). */
process.env.TANDEM_MONITOR_NET_SOCKETS = '1';
await import('./idle-connections.test.ts');
