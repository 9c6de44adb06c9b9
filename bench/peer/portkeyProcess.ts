import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/**
 * Portkey's open-source gateway (`@portkey-ai/gateway`, a Hono app on
 * @hono/node-server) as a child process for the side-by-side benchmark.
 *
 * As published (1.15.2) it cannot stream on Node: @hono/node-server >= 1.14.3
 * hands it fetch Responses whose headers are immutable, and
 * `ResponseService.create` appends its `x-portkey-*` headers to the provider's
 * streaming response, so every `stream: true` chat completion ends in
 * `TypeError: immutable` and a 500 (Portkey issues #1389 and #1550). The fix
 * proposed in Portkey PR #1551 clones an already-mapped streaming response on
 * Node into a new Response (status, statusText, body, copied headers) before
 * the headers are touched. We apply that one change to a COPY of the build in
 * a temp dir (node_modules stays as installed); `PORTKEY_PATCH` says so in the
 * benchmark's output.
 */
export const PORTKEY_PATCH =
  'Portkey 1.15.2 build copied to a temp dir with the fix of Portkey PR #1551 (issue #1550): in ResponseService.create, an already-mapped streaming response is cloned on Node into `new Response(body, { status, statusText, headers: new Headers(headers) })` before updateHeaders appends its x-portkey-* headers; unpatched, every streamed chat completion fails with `TypeError: immutable` (500).';

const PACKAGE = 'node_modules/@portkey-ai/gateway';
// The minified `create`: `r` is isResponseAlreadyMapped, `i` the response it returns, `Xe` the module's "runtime is node" constant.
const UNPATCHED = 'r?(i=t,c=s):';
const PATCHED = 'r?(i=t,c=s,Xe&&this.context.isStreaming&&(i=new Response(i.body,{status:i.status,statusText:i.statusText,headers:new Headers(i.headers)}))):';

/** Copies the Portkey build into `dir` with PR #1551's fix; returns the entry to run. */
export const preparePortkey = (dir: string): string => {
  const pkg = resolve(PACKAGE);
  const source = readFileSync(join(pkg, 'build/start-server.js'), 'utf8');
  const at = source.indexOf(UNPATCHED);
  if (at < 0 || source.indexOf(UNPATCHED, at + 1) >= 0) throw new Error(`Portkey build: expected exactly one "${UNPATCHED}" to patch (is it still 1.15.2?)`);
  const copy = join(dir, 'portkey');
  mkdirSync(join(copy, 'build'), { recursive: true });
  copyFileSync(join(pkg, 'package.json'), join(copy, 'package.json')); // "type": "module"
  writeFileSync(join(copy, 'build/start-server.js'), source.replace(UNPATCHED, PATCHED));
  // Bare imports resolve as from the installed package: its own nested node_modules first, then the project's.
  symlinkSync(join(pkg, 'node_modules'), join(copy, 'node_modules'));
  symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
  return join(copy, 'build/start-server.js');
};

const freePort = (): Promise<number> =>
  new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? done(address.port) : fail(new Error('no port'))));
    });
  });

export type PortkeyChild = { readonly process: ChildProcess; readonly pid: number; readonly baseURL: string; readonly stop: () => Promise<void> };

/** Starts the (patched) Portkey entry on a free port; resolves when it answers `GET /`. */
export const startPortkey = async (entry: string, nodeArgs: readonly string[] = []): Promise<PortkeyChild> => {
  const port = await freePort();
  // --headless: no web UI. Its stdout is a start-up banner only; errors go to stderr.
  const child = spawn(process.execPath, [...nodeArgs, entry, `--port=${port}`, '--headless'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Portkey exited with ${child.exitCode} before it was ready`);
    const up = await fetch(`${origin}/`).then((r) => r.ok, () => false);
    if (up) break;
    if (Date.now() > deadline) throw new Error('Portkey did not answer within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    process: child,
    pid: child.pid as number,
    baseURL: `${origin}/v1`,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
};
