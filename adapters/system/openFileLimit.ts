import { readFileSync } from 'node:fs';

/**
 * The process's open-file limit, reported at start-up.
 *
 * Every WebSocket connection is a file descriptor. Node raises its own soft
 * limit to the hard limit when it starts (the usual soft limit of 1,024 would
 * otherwise refuse connections long before memory runs out), so what is left
 * to do is to say what the hard limit allows, and how to raise it when that
 * is below `WANTED_OPEN_FILES`: only the operator can (ulimit -Hn as root,
 * systemd LimitNOFILE=, docker --ulimit).
 */
export type OpenFileLimit = { readonly soft: number; readonly hard: number };

/** Descriptors kept back for the store, the listeners, logs and provider connections. */
export const DESCRIPTOR_RESERVE = 256;
/** Below this the start-up log warns: a gateway host should leave room for about 65,000 connections. */
export const WANTED_OPEN_FILES = 65_536;

const limitValue = (text: string): number => (text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text));

/** The "Max open files" line of /proc/<pid>/limits; undefined when absent. */
export const parseOpenFileLimit = (limits: string): OpenFileLimit | undefined => {
  const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits);
  if (match === null) return undefined;
  return { soft: limitValue(match[1] as string), hard: limitValue(match[2] as string) };
};

export type OpenFileLimitReport = {
  readonly limit: OpenFileLimit;
  /** WebSocket connections the soft limit leaves room for. */
  readonly connections: number;
  /** Set when the operator should raise the limit. */
  readonly advice?: string;
};

/** What the limit allows; undefined where /proc is missing (not Linux). */
export const openFileLimitReport = (readLimits: () => string = () => readFileSync('/proc/self/limits', 'utf8')): OpenFileLimitReport | undefined => {
  let limit: OpenFileLimit | undefined;
  try {
    limit = parseOpenFileLimit(readLimits());
  } catch {
    return undefined;
  }
  if (limit === undefined) return undefined;
  const connections = Math.max(0, Math.min(limit.soft, Number.MAX_SAFE_INTEGER) - DESCRIPTOR_RESERVE);
  if (limit.soft >= WANTED_OPEN_FILES) return { limit, connections };
  const why = limit.soft < limit.hard ? `soft ${limit.soft}, hard ${limit.hard}` : `hard limit ${limit.hard}`;
  return {
    limit,
    connections,
    advice: `open files limited to ${limit.soft} (${why}): room for about ${connections} WebSocket connections; raise it with ulimit -n, systemd LimitNOFILE= or docker run --ulimit nofile=${WANTED_OPEN_FILES}:${WANTED_OPEN_FILES}`,
  };
};
