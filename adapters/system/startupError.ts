/**
 * Start-up failures. Each is one line for the operator that names the
 * variable or path at fault and the cause; adapters/main.ts prints it alone
 * (no stack unless LOG_LEVEL=debug) and exits with code 1.
 */
export class StartupError extends Error {}

/** A connection URL as it may be shown: the password, if any, replaced by `***`. */
export const withoutPassword = (raw: string): string => {
  try {
    const url = new URL(raw);
    if (url.password === '') return raw;
    url.password = '***';
    return url.toString();
  } catch {
    return raw;
  }
};

/** The error's code and message in a few words (`ECONNREFUSED 127.0.0.1:1`), never its stack. */
export const causeOf = (error: unknown): string => {
  if (error instanceof AggregateError && error.errors.length > 0) return causeOf(error.errors[0]);
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const message = error.message.split('\n')[0] ?? '';
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}`.trim() : message || String(code ?? 'unknown error');
};

/**
 * Resolves as `work` does, or rejects with `onTimeout()` after `ms`. A
 * connection that never answers (a black-holed host) would otherwise hang
 * start-up with nothing printed.
 */
export const withTimeout = <T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
};
