import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../system/packageRoot.js';

/** The package version for the build-info gauge and the trace resource, read once. */
let version: string | undefined;

export const packageVersion = (): string => {
  if (version === undefined) {
    try {
      version = String((JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
};
