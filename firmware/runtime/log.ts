/** The log every service process writes: one JSON object per line on stderr. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type JsonLog = (level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>) => void;

export function jsonLog(source: string): JsonLog {
  return (level, message, fields) => {
    process.stderr.write(
      `${JSON.stringify({ t: new Date().toISOString(), level, src: source, msg: message, ...fields })}\n`,
    );
  };
}
