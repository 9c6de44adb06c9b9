import { spawn } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';

/**
 * The side-by-side benchmark (bench/peer/sideBySide.ts, issue 17) at CI size:
 * `--small` runs every path (direct SDK, our WebSocket gateway, our HTTP API,
 * Portkey with its streaming fix) for 50 requests at 1 and 10 streams. Checks
 * that every path completed every request with the whole text and that the
 * table has all its rows; the numbers themselves are not judged here.
 */
type Row = { concurrency: number; path: string; requests: number; completed: number; errors: string[] };

const runSmall = (): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', './test/support/swcRegister.mjs', 'bench/peer/sideBySide.ts', '--small'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });

describe('side-by-side benchmark with a peer, small', () => {
  it('streams every request to the end on every path and prints every row', async () => {
    const { code, stdout, stderr } = await runSmall();
    expect({ code, stderr: code === 0 ? '' : stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    const jsonLine = stdout.split('\n').find((l) => l.startsWith('{"bench":"peer"'));
    expect(jsonLine).toBeDefined();
    const rows = (JSON.parse(jsonLine as string) as { results: Row[] }).results;
    const paths = ['direct', 'websocket', 'http (jwt)', 'portkey'];
    expect(rows.map((r) => `${r.concurrency} ${r.path}`)).toEqual([1, 10].flatMap((c) => paths.map((p) => `${c} ${p}`)));
    for (const r of rows) expect({ row: `${r.concurrency} ${r.path}`, requests: r.requests, completed: r.completed, errors: r.errors }).toEqual({ row: `${r.concurrency} ${r.path}`, requests: 50, completed: 50, errors: [] });
    for (const c of [1, 10]) for (const p of paths) expect(stdout).toContain(`| ${c} | ${p} |`);
    expect(stdout).toContain('PR #1551');
    expect(stdout).toMatch(/Load average at the end/);
  }, 120_000);
});
