/** Names of the kernel objects the nftables data plane owns, per service and per real server index. */
export const names = {
  serviceCounter: (svc: string): string => `s_${svc}`,
  serverPackets: (svc: string, i: number): string => `p_${svc}_${i}`,
  serverConnections: (svc: string, i: number): string => `n_${svc}_${i}`,
  serverChain: (svc: string, i: number): string => `r_${svc}_${i}`,
  slotMap: (svc: string): string => `slot_${svc}`,
  serverMap: (svc: string): string => `srv_${svc}`,
  /** Fallback index -> server chain, for the slots whose base server takes no new flows. */
  upMap: (svc: string): string => `up_${svc}`,
  fallbackChain: (svc: string): string => `f_${svc}`,
  drainChain: (svc: string, i: number): string => `d_${svc}_${i}`,
  /** DR drain: flows started on a draining server's slots, sent to the fallback. */
  movedSet: (svc: string): string => `mv_${svc}`,
  /** NAT: ct mark -> per-server packet counter, read in the forward chain (both directions). */
  ctCounterMap: 'ctr',
} as const;
