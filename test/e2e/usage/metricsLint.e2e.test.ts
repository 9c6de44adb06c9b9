import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { inCi, promtoolPath } from './browser.js';
import type { UsageKit } from './usageKit.js';
import { caughtUp, ledgerSums, seedTraffic, startUsageKit } from './usageKit.js';

/**
 * `promtool check metrics` (Debian package prometheus) on the /metrics
 * exposition after real traffic: every metric named and labelled per the
 * Prometheus conventions. Skipped with a printed line outside CI when
 * promtool is missing; under CI=true it must run.
 */
const promtool = promtoolPath();
const runs = promtool !== undefined || inCi();
if (!runs) process.stdout.write('[skipped] promtool check metrics: promtool not found (apt-get install prometheus)\n');
const suite = runs ? describe : describe.skip;

suite('/metrics passes promtool check metrics', () => {
  let kit: UsageKit;
  beforeAll(async () => {
    kit = await startUsageKit();
    await seedTraffic(kit);
    await caughtUp(kit, (await ledgerSums(kit)).head);
  });
  afterAll(() => kit?.close());

  it('reports no problem on the exposition after traffic', async () => {
    const text = await (await fetch(`${kit.http.url}/metrics`)).text();
    expect(text).toContain('credits_charged_total');
    const checked = spawnSync(promtool ?? 'promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: checked.status, problems: `${checked.stdout}${checked.stderr}`.trim() }).toEqual({ status: 0, problems: '' });
    // promtool can fail: a counter without _total is reported.
    const bad = spawnSync(promtool ?? 'promtool', ['check', 'metrics'], { input: '# HELP bad_counter x\n# TYPE bad_counter counter\nbad_counter 1\n', encoding: 'utf8' });
    expect(`${bad.stdout}${bad.stderr}`).toMatch(/bad_counter/);
  });
});
