// The core's logging port, and the rule every implementation keeps: fields whose names look like
// credentials are dropped, so a token cannot slip into a log line by mistake. In Lambda the port is
// backed by Powertools Logger (functions/observability.ts); createJsonLogger, one JSON object per line,
// is the plain implementation the local tools and tests use.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /token|secret|password|authorization|private_?key|passphrase|credential/i;

/** `fields` without credential-like keys and undefined values; errors reduced to errorFields. */
export function safeFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || SECRET_FIELD.test(k)) continue;
    out[k] = v instanceof Error ? errorFields(v) : v;
  }
  return out;
}

/** What to log about an error: its name and message (never its request headers). */
export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) {
    const status = (err as { status?: unknown }).status;
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(status !== undefined ? { status } : {}), ...(code !== undefined ? { code } : {}) };
  }
  return { message: String(err) };
}

/** `level` (or LOG_LEVEL): debug, info (default), warn, error, or silent. */
export function createJsonLogger(opts: { level?: LogLevel | 'silent'; write?: (line: string) => void; fields?: LogFields } = {}): Logger {
  const level = opts.level ?? (process.env.LOG_LEVEL?.toLowerCase() as LogLevel | 'silent' | undefined) ?? 'info';
  const min = level === 'silent' ? Number.POSITIVE_INFINITY : (LEVELS[level] ?? LEVELS.info);
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = safeFields(opts.fields ?? {});
  const log = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVELS[level] < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, message, ...base, ...safeFields(fields ?? {}) }));
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createJsonLogger({ ...opts, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
