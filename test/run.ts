/**
 * The test command: type check, lint, then every test/**\/*.test.ts in its own Node process (uvu through
 * tsx), two at a time. Prints each file's output as one block, then `N passed, N failed, N skipped` as the
 * last line; exits non-zero on any failure. Arguments filter test files by substring.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { TestNetns } from '../board/sim/testbed/netns.ts';

const root = join(import.meta.dirname, '..');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const skipChecks = process.argv.includes('--no-checks') || filters.length > 0;
const jobs = Number(process.env.TANDEM_TEST_JOBS ?? 2);
const fileTimeoutMs = Number(process.env.TANDEM_TEST_FILE_TIMEOUT_MS ?? 15 * 60_000);

interface Outcome {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
  output: string;
  ms: number;
}

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (entry.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

function runProcess(
  name: string,
  argv: string[],
  timeoutMs: number,
): Promise<{ code: number; output: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const [cmd, ...args] = argv as [string, ...string[]];
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const collect = (d: Buffer): void => {
      output += d.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      output += `\n${name}: killed after ${timeoutMs} ms\n`;
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), output, ms: performance.now() - started });
    });
  });
}

function count(output: string, label: string): number | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips uvu's colour codes
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const m = new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(plain);
  return m ? Number(m[1]) : undefined;
}

async function runTestFile(file: string): Promise<Outcome> {
  const name = relative(root, file);
  const { code, output, ms } = await runProcess(
    name,
    [process.execPath, '--import', 'tsx', file],
    fileTimeoutMs,
  );
  const total = count(output, 'Total');
  const passed = count(output, 'Passed') ?? 0;
  let skipped = count(output, 'Skipped') ?? 0;
  // A file gated by canRun()/kernelHas() registers no tests and prints only its `skip:` line.
  const skippedWhole = (total ?? 0) === 0 && code === 0 && /^skip: /m.test(output);
  if (skippedWhole) skipped += 1;
  // A crash, a timeout or a failing hook may leave no summary: the file then counts as one failure.
  let failed = total === undefined && !skippedWhole ? 1 : Math.max(0, (total ?? 0) - passed - skipped);
  if (code !== 0 && failed === 0) failed = 1;
  return { name, passed, failed, skipped, output, ms };
}

async function runCheck(name: string, argv: string[]): Promise<Outcome> {
  const { code, output, ms } = await runProcess(name, argv, 10 * 60_000);
  return { name, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0, output, ms };
}

function report(o: Outcome): void {
  const status = o.failed > 0 ? 'FAIL' : 'ok  ';
  const body = o.failed > 0 || process.env.TANDEM_TEST_VERBOSE ? o.output.trimEnd() : '';
  const skipLines = o.output.split('\n').filter((l) => l.startsWith('skip: '));
  console.log(
    `${status} ${o.name} (${o.passed} passed, ${o.failed} failed, ${o.skipped} skipped, ${(o.ms / 1000).toFixed(1)} s)`,
  );
  for (const line of skipLines) console.log(`     ${line}`);
  if (body) console.log(body.replace(/^/gm, '     '));
}

/**
 * A test file that loads the machine for minutes (a fuzzer) says `@test-alone` in its first lines: it runs
 * after the others, by itself, so it neither starves nor is starved by the timing-sensitive cluster tests.
 */
function runsAlone(file: string): boolean {
  return readFileSync(file, 'utf8').slice(0, 1000).includes('@test-alone');
}

async function main(): Promise<void> {
  const outcomes: Outcome[] = [];
  const bin = (tool: string): string => join(root, 'node_modules', '.bin', tool);
  if (!skipChecks) {
    for (const o of await Promise.all([
      runCheck('typecheck (tsc --noEmit)', [bin('tsc'), '--noEmit', '-p', '.']),
      runCheck('lint and format (biome check)', [bin('biome'), 'check', '.']),
    ])) {
      report(o);
      outcomes.push(o);
    }
  }
  const files = findTests(join(root, 'test')).filter(
    (f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)),
  );
  const run = async (queue: string[], width: number): Promise<void> => {
    await Promise.all(
      Array.from({ length: Math.max(1, width) }, async () => {
        for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
          const o = await runTestFile(file);
          report(o);
          outcomes.push(o);
        }
      }),
    );
  };
  await run(
    files.filter((f) => !runsAlone(f)),
    jobs,
  );
  await run(files.filter(runsAlone), 1);
  if (process.getuid?.() === 0) {
    const left = await TestNetns.sweepOrphans();
    if (left.length > 0) console.log(`removed namespaces left by killed tests: ${left.join(' ')}`);
  }
  const sum = (k: 'passed' | 'failed' | 'skipped'): number => outcomes.reduce((n, o) => n + o[k], 0);
  console.log(`${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped`);
  process.exitCode = sum('failed') > 0 || files.length === 0 ? 1 : 0;
}

await main();
