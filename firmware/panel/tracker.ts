/**
 * What the panel knows of the appliance between polls: the last good cluster and supervisor status, when
 * each arrived, and when each serious alarm counter last went up. `view(now)` turns that into the
 * ApplianceView the LED mapping reads: a status older than `staleMs` counts as no answer.
 */
import type { AlarmCode } from '../cluster/types.ts';
import { PanelError } from './errors.ts';
import { clusterView, raisedAlarms, supervisorView } from './status.ts';
import type { ApplianceView, ClusterView, SupervisorView } from './types.ts';

export type Answer = PromiseSettledResult<unknown>;

export interface TrackerOptions {
  /** When the panel started: the cluster is 'starting' until staleMs after it. */
  startedAt: number;
  staleMs: number;
  recentAlarmMs: number;
  log: (level: 'info' | 'warn', message: string) => void;
}

const text = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class ApplianceTracker {
  private cluster: { view: ClusterView; at: number } | undefined;
  private clusterReachable: boolean | undefined;
  private clusterError: string | undefined;
  private supervisor: { view: SupervisorView; at: number } | undefined;
  private supervisorError: string | undefined;
  private readonly alarmRaisedAt = new Map<AlarmCode, number>();

  constructor(private readonly o: TrackerOptions) {}

  /** Takes a cluster status poll's outcome; logs only when reachability or the error changes. */
  takeCluster(answer: Answer, now: number): void {
    let view: ClusterView | undefined;
    let error: string | undefined;
    try {
      if (answer.status === 'rejected') throw answer.reason;
      view = clusterView(answer.value);
    } catch (err) {
      error = text(err);
    }
    if (view !== undefined) {
      const before = this.cluster?.view.alarms;
      if (before !== undefined) {
        for (const code of raisedAlarms(before, view.alarms)) this.alarmRaisedAt.set(code, now);
      }
      this.cluster = { view, at: now };
      if (this.clusterReachable !== true) this.o.log('info', `the cluster answers (role ${view.role})`);
      this.clusterReachable = true;
      this.clusterError = undefined;
      return;
    }
    if (this.clusterReachable !== false || error !== this.clusterError) {
      this.o.log('warn', `cluster status: ${error}`);
    }
    this.clusterReachable = false;
    this.clusterError = error;
  }

  /** Takes a supervisor status poll's outcome. No supervisor at all is normal (a panel run alone). */
  takeSupervisor(answer: Answer, now: number): void {
    try {
      if (answer.status === 'rejected') throw answer.reason;
      this.supervisor = { view: supervisorView(answer.value), at: now };
      this.supervisorError = undefined;
    } catch (err) {
      const error = text(err);
      if (error !== this.supervisorError && !PanelError.is(err, 'PANEL_UNREACHABLE')) {
        this.o.log('warn', `supervisor status: ${error}`);
      }
      this.supervisorError = error;
    }
  }

  view(now: number): ApplianceView {
    const fresh = (at: number): boolean => now - at <= this.o.staleMs;
    let cluster: ApplianceView['cluster'];
    if (this.cluster !== undefined) cluster = fresh(this.cluster.at) ? this.cluster.view : 'unreachable';
    else cluster = fresh(this.o.startedAt) ? 'starting' : 'unreachable';
    const recentAlarms = [...this.alarmRaisedAt]
      .filter(([, at]) => now - at < this.o.recentAlarmMs)
      .map(([code]) => code);
    const supervisor =
      this.supervisor !== undefined && fresh(this.supervisor.at) ? this.supervisor.view : undefined;
    return { cluster, supervisor, recentAlarms };
  }
}
