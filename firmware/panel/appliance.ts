/**
 * The panel's side of the appliance: the cluster's and the supervisor's control sockets (JSON lines,
 * `controlRequest` from firmware/cluster/control.ts). Every call rejects with a PanelError: PANEL_UNREACHABLE
 * when the socket does not answer within the timeout, PANEL_REFUSED when it answers with an error.
 */
import { controlRequest } from '../cluster/control.ts';
import { PanelError } from './errors.ts';

export interface ApplianceLink {
  /** The cluster's status (the `ok` of `{"op":"status"}`). */
  clusterStatus(): Promise<unknown>;
  /** The supervisor's status (the `ok` of `{"op":"status"}`). */
  supervisorStatus(): Promise<unknown>;
  /** Asks the cluster for a graceful switchover; resolves with its answer. */
  failover(): Promise<unknown>;
  /** Asks the supervisor for a factory reset; resolves with its answer. */
  factoryReset(): Promise<unknown>;
}

/** One request on a JSON-lines control socket, unwrapping `{ok}` and turning `{error}` into PANEL_REFUSED. */
export async function controlCall(
  what: string,
  path: string,
  request: unknown,
  timeoutMs: number,
): Promise<unknown> {
  let answer: unknown;
  try {
    answer = await controlRequest(path, request, timeoutMs);
  } catch (err) {
    throw new PanelError(
      'PANEL_UNREACHABLE',
      `${what} at ${path} did not answer: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  if (typeof answer === 'object' && answer !== null) {
    if ('ok' in answer) return answer.ok;
    if ('error' in answer) {
      const e = answer.error as { code?: unknown; message?: unknown } | null;
      throw new PanelError(
        'PANEL_REFUSED',
        `${what} at ${path} refused ${JSON.stringify(request)}: ${String(e?.code ?? '')} ${String(e?.message ?? '')}`.trim(),
      );
    }
  }
  throw new PanelError(
    'PANEL_BAD_ANSWER',
    `${what} at ${path} answered neither ok nor error: ${JSON.stringify(answer)}`,
  );
}

export function socketAppliance(
  paths: { clusterSocket: string; supervisorSocket: string },
  options: { statusTimeoutMs?: number; commandTimeoutMs?: number } = {},
): ApplianceLink {
  const statusMs = options.statusTimeoutMs ?? 500;
  const commandMs = options.commandTimeoutMs ?? 5000;
  return {
    clusterStatus: () => controlCall('the cluster', paths.clusterSocket, { op: 'status' }, statusMs),
    supervisorStatus: () => controlCall('the supervisor', paths.supervisorSocket, { op: 'status' }, statusMs),
    failover: () =>
      controlCall('the cluster', paths.clusterSocket, { op: 'command', command: 'failover' }, commandMs),
    factoryReset: () =>
      controlCall('the supervisor', paths.supervisorSocket, { op: 'factory-reset' }, commandMs),
  };
}
