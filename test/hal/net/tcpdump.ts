/**
 * A bounded packet capture in a test namespace: `tcpdump -i <if> -c N -nn -e -l -tt <filter>`, owned by
 * the test (killed by PID when the time limit passes) and ready once tcpdump says it is listening.
 */
import { spawn } from 'node:child_process';

export interface CapturedFrame {
  /** Seconds since the epoch, from tcpdump -tt. */
  time: number;
  ethSrc: string;
  ethDst: string;
  /** The ARP part after `length NN: `, e.g. `Request who-has 10.0.0.5 (ff:ff:ff:ff:ff:ff) tell 10.0.0.5`. */
  arp: string;
}

export interface Capture {
  /** Resolves when tcpdump listens; rejects if it exits first. */
  ready: Promise<void>;
  /** The frames, once `count` were seen or the time limit passed. */
  frames: Promise<CapturedFrame[]>;
}

export function captureArp(
  netns: string,
  ifname: string,
  filter: string,
  count: number,
  limitMs: number,
): Capture {
  const child = spawn(
    'ip',
    ['netns', 'exec', netns, 'tcpdump', '-i', ifname, '-c', String(count), '-nn', '-e', '-l', '-tt', filter],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), limitMs);
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (/listening on/.test(stderr)) resolve();
    });
    void exited.then(() => reject(new Error(`tcpdump exited before listening: ${stderr.trim()}`)));
  });
  const frames = exited.then(() =>
    stdout.split('\n').flatMap((line) => {
      const m = /^(\d+\.\d+)\s+(\S+)\s+>\s+([^,]+),.*?length \d+:\s+(.*?)(?:, length \d+)?$/.exec(
        line.trim(),
      );
      if (m === null) return [];
      return [{ time: Number(m[1]), ethSrc: m[2] ?? '', ethDst: m[3] ?? '', arp: m[4] ?? '' }];
    }),
  );
  return { ready, frames };
}
