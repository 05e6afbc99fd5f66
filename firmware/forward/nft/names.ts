/** Names of the kernel objects the nftables data plane owns, per service and per real server index. */
export const names = {
  serviceCounter: (svc: string): string => `s_${svc}`,
  serverPackets: (svc: string, i: number): string => `p_${svc}_${i}`,
  serverConnections: (svc: string, i: number): string => `n_${svc}_${i}`,
  serverChain: (svc: string, i: number): string => `r_${svc}_${i}`,
  slotMap: (svc: string): string => `slot_${svc}`,
  serverMap: (svc: string): string => `srv_${svc}`,
  /** NAT: ct mark -> per-server packet counter, read in the forward chain (both directions). */
  ctCounterMap: 'ctr',
} as const;
