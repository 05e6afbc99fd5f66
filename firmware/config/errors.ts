/**
 * The configuration module's error catalogue (fastify style: one template per code). Callers branch on
 * `code`, never on the message. Validation problems are not thrown one by one: `validateConfig` returns
 * them all as ConfigIssues; CONFIG_INVALID carries that list.
 */
export type ConfigErrorCode =
  | 'CONFIG_INVALID' // the document failed validation; `issues` says where and why
  | 'CONFIG_NOT_FOUND' // an edit names a service, server, check or user the document does not have
  | 'CONFIG_EXISTS' // an edit would create a second item with a name already taken
  | 'CONFIG_BAD_HASH' // a stored password hash is not a scrypt hash this firmware can check
  | 'CONFIG_BAD_ARGUMENT'; // a caller passed a value the API forbids

const templates: { [C in ConfigErrorCode]: (detail: string) => string } = {
  CONFIG_INVALID: (d) => `invalid configuration: ${d}`,
  CONFIG_NOT_FOUND: (d) => `${d} does not exist`,
  CONFIG_EXISTS: (d) => `${d} already exists`,
  CONFIG_BAD_HASH: (d) => `bad password hash: ${d}`,
  CONFIG_BAD_ARGUMENT: (d) => `bad argument: ${d}`,
};

/** One thing wrong with a document: where (a path like `services[web].servers[web1].port`) and what. */
export interface ConfigIssue {
  path: string;
  /** The whole sentence after the path: "expected a port 1..65535, got 70000". */
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  readonly issues: readonly ConfigIssue[];

  constructor(
    code: ConfigErrorCode,
    detail: string,
    options: { cause?: unknown; issues?: readonly ConfigIssue[] } = {},
  ) {
    super(templates[code](detail), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.issues = options.issues ?? [];
  }

  static is(err: unknown, code?: ConfigErrorCode): err is ConfigError {
    return err instanceof ConfigError && (code === undefined || err.code === code);
  }
}

/** A value as an operator reads it in a message: JSON, cut short; `nothing` for undefined. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
