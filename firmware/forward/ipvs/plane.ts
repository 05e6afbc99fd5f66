import { spawn } from 'node:child_process';
import { ForwardError } from '../errors.ts';
import type { DesiredForwarding } from '../model.ts';
import type { ApplyResult, DataPlane, ForwardingCounters, ServerCounters } from '../plane.ts';
import { diffRules, ipvsRules, parseSaved, parseStats, serviceKey } from './rules.ts';

/**
 * The IPVS data plane, through ipvsadm (inside a network namespace when given one). Each apply reads the
 * kernel's table (`ipvsadm -S -n`: IPVS tables are small), and feeds only the difference to one
 * `ipvsadm -R`. IPVS has no transactions: a restore that fails part way leaves the earlier lines applied,
 * so the next apply (which reads the table again) finishes the job. Children are owned: an abort kills
 * them by PID.
 */
export class IpvsForwardingPlane implements DataPlane {
  private applied: DesiredForwarding | undefined;
  private closed = false;

  constructor(private readonly options: { netns?: string; timeoutMs?: number } = {}) {}

  async apply(desired: DesiredForwarding, options: { signal?: AbortSignal } = {}): Promise<ApplyResult> {
    this.checkOpen('apply');
    const wanted = ipvsRules(desired);
    const current = parseSaved(await this.ipvsadm(['-S', '-n'], undefined, options.signal));
    const commands = diffRules(current, wanted);
    if (commands.length > 0) await this.ipvsadm(['-R'], `${commands.join('\n')}\n`, options.signal);
    this.applied = desired;
    return { full: false, commands: commands.length, elements: commands.length };
  }

  async counters(options: { signal?: AbortSignal } = {}): Promise<ForwardingCounters> {
    this.checkOpen('read counters');
    const desired = this.applied;
    if (desired === undefined) return { services: [] };
    const rows = parseStats(
      await this.ipvsadm(['-L', '-n', '--stats', '--exact'], undefined, options.signal),
    );
    return {
      services: desired.services.map((s) => {
        const key = serviceKey(s);
        const own = rows.find((r) => r.service === key && r.real === undefined);
        const servers = s.servers.map((r): ServerCounters => {
          const where = r.address.includes(':') ? `[${r.address}]` : r.address;
          const row = rows.find((x) => x.service === key && x.real === `${where}:${r.port ?? s.port ?? 0}`);
          return {
            address: r.address,
            port: r.port,
            packets: (row?.inPkts ?? 0) + (row?.outPkts ?? 0),
            bytes: (row?.inBytes ?? 0) + (row?.outBytes ?? 0),
            connections: row?.conns ?? 0,
          };
        });
        return {
          name: s.name,
          packets: (own?.inPkts ?? 0) + (own?.outPkts ?? 0),
          bytes: (own?.inBytes ?? 0) + (own?.outBytes ?? 0),
          connections: own?.conns ?? 0,
          servers,
        };
      }),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(what: string): void {
    if (this.closed)
      throw new ForwardError('FORWARD_CLOSED', `cannot ${what}: the IPVS data plane is closed`);
  }

  private ipvsadm(
    args: readonly string[],
    input: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const argv =
      this.options.netns === undefined
        ? ['ipvsadm', ...args]
        : ['ip', 'netns', 'exec', this.options.netns, 'ipvsadm', ...args];
    const [file, ...rest] = argv as [string, ...string[]];
    if (signal?.aborted)
      return Promise.reject(
        new ForwardError('FORWARD_APPLY_FAILED', 'ipvsadm: aborted', { cause: signal.reason }),
      );
    return new Promise((resolve, reject) => {
      const child = spawn(file, rest, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const kill = (): void => {
        if (child.pid !== undefined && child.exitCode === null) {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      };
      const timer = setTimeout(kill, this.options.timeoutMs ?? 10_000);
      signal?.addEventListener('abort', kill, { once: true });
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', kill);
      };
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      child.on('error', (err) => {
        finish();
        reject(new ForwardError('FORWARD_UNSUPPORTED', `cannot run ipvsadm: ${err.message}`, { cause: err }));
      });
      child.on('close', (code) => {
        finish();
        if (code === 0) resolve(stdout);
        else
          reject(
            new ForwardError(
              'FORWARD_APPLY_FAILED',
              `ipvsadm ${args.join(' ')} exited ${code}: ${stderr.trim()}`,
            ),
          );
      });
      if (child.stdin) {
        child.stdin.on('error', () => {});
        child.stdin.end(input);
      }
    });
  }
}
