/**
 * Sends alerts: an RFC 5424 message over UDP to the configured syslog target, and the alert script with
 * the event in its environment. Scripts run one at a time from a bounded queue (a slow script never
 * holds up the monitor; past 100 waiting, the oldest is dropped and counted), each killed at its timeout.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Clock } from '../../../hal/clock/types.ts';
import type { AlertPlan } from '../plan.ts';
import { describeOutcome, runProgram } from '../process.ts';
import type { Logger } from '../types.ts';
import { type AlertEvent, alertEnvironment } from './events.ts';
import { formatSyslog } from './syslog.ts';

/** Private enterprise number 32473 is the one RFC 5612 sets aside for documentation and examples. */
export const SD_ID = 'tandem@32473';
const MAX_QUEUED_SCRIPTS = 100;

export interface AlerterDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly hostname: string;
  readonly procId: string;
  readonly counters: { alertsSent: number; alertErrors: number };
}

export class Alerter {
  private socket: { family: 'udp4' | 'udp6'; socket: Socket } | undefined;
  private readonly scripts: AlertEvent[] = [];
  private scriptRunning: Promise<void> | undefined;
  private readonly closing = new AbortController();
  private sending = 0;
  private readonly sent: (() => void)[] = [];

  constructor(
    private plan: AlertPlan,
    private readonly deps: AlerterDeps,
  ) {}

  setPlan(plan: AlertPlan): void {
    this.plan = plan;
  }

  send(alert: AlertEvent): void {
    if (this.closing.signal.aborted) return;
    if (this.plan.syslog !== undefined) this.sendSyslog(alert, this.plan.syslog);
    if (this.plan.script !== undefined) {
      if (this.scripts.length >= MAX_QUEUED_SCRIPTS) {
        const dropped = this.scripts.shift();
        this.deps.counters.alertErrors++;
        this.deps.log('warn', 'alert script queue full: dropped the oldest alert', { alert: dropped?.name });
      }
      this.scripts.push(alert);
      this.scriptRunning ??= this.runScripts();
    }
  }

  private sendSyslog(alert: AlertEvent, target: NonNullable<AlertPlan['syslog']>): void {
    const bytes = formatSyslog({
      facility: target.facility,
      severity: alert.severity,
      time: this.deps.clock.wallTime(),
      hostname: target.hostname ?? this.deps.hostname,
      appName: target.appName,
      procId: this.deps.procId,
      msgId: alert.name,
      structuredData: [{ id: SD_ID, params: { event: alert.name, ...alert.fields } }],
      message: alert.message,
    });
    const family = isIP(target.host) === 6 ? 'udp6' : 'udp4';
    if (this.socket?.family !== family) {
      this.socket?.socket.close();
      const socket = createSocket(family);
      socket.on('error', (err) => this.failed('syslog socket', err));
      socket.unref();
      this.socket = { family, socket };
    }
    this.sending++;
    this.socket.socket.send(bytes, target.port, target.host, (err) => {
      if (err) this.failed(`syslog to ${target.host}:${target.port}`, err);
      else this.deps.counters.alertsSent++;
      if (--this.sending === 0) for (const w of this.sent.splice(0)) w();
    });
  }

  private failed(what: string, err: unknown): void {
    this.deps.counters.alertErrors++;
    this.deps.log('error', `alert via ${what} failed`, {
      error: err instanceof Error ? err.message : String(err),
    });
  }

  private async runScripts(): Promise<void> {
    try {
      for (let alert = this.scripts.shift(); alert !== undefined; alert = this.scripts.shift()) {
        const script = this.plan.script;
        if (script === undefined || this.closing.signal.aborted) break;
        const env: Record<string, string> = {};
        for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
        Object.assign(env, alertEnvironment(alert, this.deps.clock.wallTime()));
        const outcome = await runProgram([script.path, ...script.args], {
          env,
          clock: this.deps.clock,
          timeoutMs: script.timeoutMs,
          killGraceMs: script.killGraceMs,
          signal: this.closing.signal,
        });
        if (outcome.code === 0 && !outcome.stopped) this.deps.counters.alertsSent++;
        else this.failed(`script ${script.path}`, new Error(describeOutcome(outcome)));
      }
    } finally {
      this.scriptRunning = undefined;
    }
  }

  /**
   * Stops the script queue (a running script is stopped as at its timeout), lets syslog datagrams already
   * handed over leave, and closes the socket.
   */
  async close(): Promise<void> {
    this.closing.abort();
    this.scripts.length = 0;
    await this.scriptRunning;
    if (this.sending > 0) await new Promise<void>((resolve) => this.sent.push(resolve));
    this.socket?.socket.close();
    this.socket = undefined;
  }
}
