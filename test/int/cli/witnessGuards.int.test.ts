import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { formatVkey } from '../../../application/checkpoints/note.js';
import { LockHeld, takeRunLock, writeFileDurably } from '../../../adapters/fileDurable.js';
import { signerFromKey } from '../../../adapters/ledger/ed25519.js';
import { runCli } from '../../support/runCli.js';

/**
 * What keeps a witness's promise outside the happy path: its state written
 * durably, one run at a time per state directory, and a log that answers with
 * an endless body refused without reading it all.
 */
const dir = mkdtempSync(join(tmpdir(), 'witness-guards-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A process id that is certainly not running: a child that has already exited. */
const deadPid = (): number => {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
};

describe('durable state files', () => {
  it('replaces a file with the new text, mode 0600, and leaves no temporary file', async () => {
    const path = join(dir, 'state.json');
    writeFileSync(path, 'old');
    await writeFileDurably(path, 'new\n');
    expect(readFileSync(path, 'utf8')).toBe('new\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('run lock', () => {
  it('one holder at a time; a lock left by a dead process is taken over; release frees it', async () => {
    const path = join(dir, 'lock');
    const first = await takeRunLock(path);
    expect(readFileSync(path, 'utf8').trim()).toBe(String(process.pid));
    await expect(takeRunLock(path)).rejects.toThrow(LockHeld);
    await expect(takeRunLock(path)).rejects.toThrow(`process ${process.pid}`);
    await first.release();
    expect(existsSync(path)).toBe(false);

    writeFileSync(path, `${deadPid()}\n`);
    const second = await takeRunLock(path);
    expect(readFileSync(path, 'utf8').trim()).toBe(String(process.pid));
    await second.release();
    expect(readdirSync(dir).filter((f) => f.startsWith('lock'))).toEqual([]);
  });
});

describe('ledger witness guards', () => {
  const args = (state: string, url: string) => ['witness', '--key', join(dir, 'witness.pem'), '--state', state, url];

  it('refuses to run beside another run on the same state directory, and runs once that one is gone', async () => {
    const state = join(dir, 'w1');
    mkdirSync(state, { recursive: true });
    // A live process (this test) holds the lock.
    writeFileSync(join(state, 'lock'), `${process.pid}\n`);
    const held = await runCli(args(state, 'http://127.0.0.1:9'));
    expect(held.code).toBe(1);
    expect(held.stderr).toContain('refused: another run holds');
    expect(existsSync(join(state, 'state.json'))).toBe(false);
    // The holder died: the next run takes the lock over and gets as far as asking the log (which is not there).
    writeFileSync(join(state, 'lock'), `${deadPid()}\n`);
    const next = await runCli(args(state, 'http://127.0.0.1:9'));
    expect(next.code).not.toBe(0);
    expect(next.stderr).not.toContain('another run holds');
    expect(existsSync(join(state, 'lock'))).toBe(false);
  }, 60_000);

  it('stops reading a log that answers with an endless body', async () => {
    let sent = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (sent < 512 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent < 512 * 1024 * 1024) res.once('drain', pump);
        else res.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const logKey = formatVkey('test/log', signerFromKey('test/log', generateKeyPairSync('ed25519').privateKey).publicKey);
      const result = await runCli([...args(join(dir, 'w2'), url), '--log-key', logKey]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('answered more than 65536 bytes');
      // It hung up long before the 512 MiB were sent.
      expect(sent).toBeLessThan(64 * 1024 * 1024);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);
});
