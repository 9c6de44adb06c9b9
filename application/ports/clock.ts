/** Time enters the application only through this port, so tests can move it. */
export type Clock = {
  /** Milliseconds since the Unix epoch. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
};

/** Ids and randomness (retry jitter) come from outside too. */
export type Ids = {
  /** A fresh unique id (UUID v4 or similar). */
  readonly newId: () => string;
  /** A uniform number in [0, 1), for jitter. */
  readonly random: () => number;
};

/** The logging port: structured, with a message last (pino's shape). */
export type Logger = {
  readonly debug: (fields: Record<string, unknown>, message: string) => void;
  readonly info: (fields: Record<string, unknown>, message: string) => void;
  readonly warn: (fields: Record<string, unknown>, message: string) => void;
  readonly error: (fields: Record<string, unknown>, message: string) => void;
};

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
