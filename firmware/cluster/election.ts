/**
 * The two deterministic orders both nodes apply to the same facts, so they always agree on a winner
 * without another message: who should be ACTIVE when neither is, and who stays when both are.
 */
export interface Candidate {
  readonly nodeId: number;
  readonly priority: number;
}

export interface ActiveClaim extends Candidate {
  readonly epoch: number;
}

/** True when `a` wins an election against `b`: higher priority, then lower node id. */
export function winsElection(a: Candidate, b: Candidate): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.nodeId < b.nodeId;
}

/** True when `a` stays ACTIVE as two actives meet: the higher epoch (the newer fencing token), then the election. */
export function winsDualActive(a: ActiveClaim, b: ActiveClaim): boolean {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  return winsElection(a, b);
}
