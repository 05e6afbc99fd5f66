import { TestbedError } from './errors.ts';
import { netnsExec } from './netns.ts';

export interface HttpAnswer {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Splits a raw HTTP/1.x response; undefined when it is not one. */
export function parseHttpResponse(raw: string): HttpAnswer | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...headerLines] = raw.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(m[1]), headers, body: raw.slice(end + 4) };
}

/**
 * GET `path` from `host:port` as seen from inside namespace `ns` (the host cannot reach the testbed's
 * addresses), using socat as the TCP client. Rejects with TESTBED_UNREACHABLE naming the namespace and
 * the URL when no HTTP answer arrives within `timeoutMs`.
 */
export async function httpGet(
  ns: string,
  target: { host: string; port: number; path?: string },
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<HttpAnswer> {
  const path = target.path ?? '/';
  const url = `http://${target.host}:${target.port}${path}`;
  const seconds = Math.max(1, Math.ceil((options.timeoutMs ?? 3000) / 1000));
  const request = `GET ${path} HTTP/1.0\r\nHost: ${target.host}\r\nConnection: close\r\n\r\n`;
  const result = await netnsExec(
    ns,
    [
      'socat',
      '-t',
      String(seconds),
      '-T',
      String(seconds),
      '-',
      `TCP:${target.host}:${target.port},connect-timeout=${seconds}`,
    ],
    {
      input: request,
      allowFail: true,
      timeoutMs: seconds * 1000 + 2000,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  const answer = parseHttpResponse(result.stdout);
  if (answer === undefined) {
    const why = result.stderr.trim().split('\n').pop() || `no HTTP answer (exit ${result.code})`;
    throw new TestbedError('TESTBED_UNREACHABLE', `GET ${url} from ${ns} failed: ${why}`);
  }
  return answer;
}
