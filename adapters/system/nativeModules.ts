import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * better-sqlite3 is a native module built for one Node ABI. When npm built it
 * against another Node's headers (an `nodedir` in the npm config pointing at
 * an older Node is the usual cause), loading it fails with
 * "NODE_MODULE_VERSION 115 ... requires 137", and a plain `npm rebuild` does
 * the same thing again. This names the command that does fix it: a rebuild
 * against the headers of the Node that is running.
 */
export const nativeModuleHint = (error: unknown, execPath: string = process.execPath, version: string = process.version): string | undefined => {
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes('Could not locate the bindings file')) {
    return `better-sqlite3 has no native build (installed with --ignore-scripts, or its build failed). Build it for Node ${version}: npm rebuild better-sqlite3`;
  }
  const match = /NODE_MODULE_VERSION (\d+)[\s\S]*?NODE_MODULE_VERSION (\d+)/.exec(message);
  if (match === null) return undefined;
  const prefix = dirname(dirname(execPath));
  const hasHeaders = existsSync(join(prefix, 'include', 'node', 'node_api.h'));
  const fix = hasHeaders
    ? `npm rebuild better-sqlite3 --nodedir="${prefix}"`
    : 'npm config delete nodedir && npm rebuild better-sqlite3';
  return `better-sqlite3 was built for another Node.js (NODE_MODULE_VERSION ${match[1]}; Node ${version} needs ${match[2]}). Rebuild it for this Node: ${fix}`;
};
