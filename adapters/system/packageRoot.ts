import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding this package's package.json, whether running from sources or from dist/. */
export const packageRoot = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'config'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
};

/** A relative path that exists from the working directory stays as it is; otherwise it is taken from the package root. */
export const resolveShipped = (path: string): string =>
  path.startsWith('/') || existsSync(path) ? path : resolve(packageRoot(), path);
