// Module loader hooks that let plain Node run the project's TypeScript:
//
//   node --import ./test/support/swcRegister.mjs path/to/script.ts
//
// - load: a file:...ts module is transpiled with @swc/core (types stripped,
//   ES module output, inline source maps) and loaded as an ES module.
// - resolve: our relative imports end in .js (TS NodeNext style); when that
//   .js file does not exist but the .ts beside it does, the .ts is used.
//   Packages without an "exports" map that are imported by sub-path
//   (fp-ts/Either, io-ts/PathReporter) are directories to Node's ES module
//   resolver, which refuses them; those fall back to CommonJS resolution
//   (the directory's package.json "main"), which is what jest and tsc do.
//
// Used by the crash and multi-process tests, the benchmarks and CLI tests.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transformSync } from '@swc/core';

const isRelative = (specifier) => specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('file:');

export async function resolve(specifier, context, nextResolve) {
  if (isRelative(specifier) && specifier.endsWith('.js') && context.parentURL !== undefined) {
    const jsUrl = new URL(specifier, context.parentURL);
    if (!existsSync(jsUrl)) {
      const tsUrl = new URL(`${jsUrl.href.slice(0, -3)}.ts`);
      if (existsSync(tsUrl)) return { url: tsUrl.href, format: 'module', shortCircuit: true };
    }
  }
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const code = error?.code;
    if ((code === 'ERR_UNSUPPORTED_DIR_IMPORT' || code === 'ERR_MODULE_NOT_FOUND') && !isRelative(specifier) && context.parentURL !== undefined) {
      try {
        const filename = createRequire(context.parentURL).resolve(specifier);
        return { url: pathToFileURL(filename).href, shortCircuit: true };
      } catch {
        // Not resolvable as CommonJS either: report the original error.
      }
    }
    throw error;
  }
}

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:') && (url.endsWith('.ts') || url.endsWith('.mts'))) {
    const filename = fileURLToPath(url);
    const source = await readFile(filename, 'utf8');
    const { code } = transformSync(source, {
      filename,
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    });
    return { format: 'module', source: code, shortCircuit: true };
  }
  return nextLoad(url, context);
}
