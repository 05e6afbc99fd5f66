/**
 * Runs seeds from..from+count-1 across worker threads (the CPU has two cores) and merges the summaries.
 * Workers are started through an eval bootstrap that registers tsx, because worker threads do not
 * inherit the `--import tsx` loader on Node 20.
 */
import { Worker } from 'node:worker_threads';
import type { Summary } from './runner.ts';

function runSlice(from: number, count: number): Promise<Summary> {
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(boot, { eval: true, workerData: { from, count } });
    let result: Summary | undefined;
    worker.on('message', (m: Summary) => {
      result = m;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (result !== undefined) resolve(result);
      else
        reject(
          new Error(`simulation worker for seeds ${from}..${from + count - 1} exited with code ${code}`),
        );
    });
  });
}

function merge(parts: Summary[]): Summary {
  const add = (into: Record<string, number>, from: Record<string, number>): void => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  const out: Summary = {
    runs: 0,
    failures: [],
    steps: 0,
    simulatedMs: 0,
    maxTransitions: 0,
    maxTransitionRatio: 0,
    takeovers: {},
    alarms: {},
    decodeErrors: {},
    gaps: [],
  };
  for (const p of parts) {
    out.runs += p.runs;
    out.failures.push(...p.failures);
    out.steps += p.steps;
    out.simulatedMs += p.simulatedMs;
    out.maxTransitions = Math.max(out.maxTransitions, p.maxTransitions);
    out.maxTransitionRatio = Math.max(out.maxTransitionRatio, p.maxTransitionRatio);
    add(out.takeovers, p.takeovers);
    add(out.alarms, p.alarms);
    add(out.decodeErrors, p.decodeErrors);
    out.gaps.push(...p.gaps);
  }
  return out;
}

export async function runParallel(from: number, count: number, workers: number): Promise<Summary> {
  const n = Math.max(1, Math.min(workers, count));
  const slices: Promise<Summary>[] = [];
  for (let i = 0, start = from; i < n; i++) {
    const size = Math.floor(count / n) + (i < count % n ? 1 : 0);
    slices.push(runSlice(start, size));
    start += size;
  }
  return merge(await Promise.all(slices));
}
