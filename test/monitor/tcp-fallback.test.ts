/** The same probes as tcp-handle.test.ts, on the net.Socket path the checks take without the binding. */
process.env.TANDEM_MONITOR_NET_SOCKETS = '1';
await import('./tcp-handle.test.ts');
