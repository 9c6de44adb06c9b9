import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { CHROMIUM, hasChromium, inCi } from './browser.js';
import type { UsageKit } from './usageKit.js';
import { caughtUp, ledgerSums, seedTraffic, startUsageKit } from './usageKit.js';

/**
 * The /usage page in headless Chromium after seeded traffic: the charts are
 * drawn from real data (uPlot's canvas has painted pixels, the series are
 * not empty), the top accounts table is filled, and a screenshot is kept in
 * artifacts/usage-page.png.
 */
const runs = hasChromium() || inCi();
if (!runs) process.stdout.write(`[skipped] usage page browser test: no Chromium at ${CHROMIUM} (apt-get install chromium)\n`);
const suite = runs ? describe : describe.skip;

suite('the /usage page in headless Chromium', () => {
  let kit: UsageKit;
  let browser: Browser;
  beforeAll(async () => {
    kit = await startUsageKit();
    await seedTraffic(kit);
    await caughtUp(kit, (await ledgerSums(kit)).head);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  afterAll(async () => {
    await browser?.close();
    await kit?.close();
  });

  it('draws credits and tokens by model, the failure rate and the top accounts, with the token kept out of the address bar', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1300 } });
    const external: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(kit.http.url)) external.push(request.url());
    });
    await page.goto(`${kit.http.url}/usage?token=${encodeURIComponent(kit.admin)}`);
    const consoleLines: string[] = [];
    page.on('console', (message) => consoleLines.push(message.text()));
    page.on('pageerror', (error) => consoleLines.push(error.message));
    try {
      await page.waitForFunction('window.usagePage !== undefined && window.usagePage.ready === true', undefined, { timeout: 20_000 });
    } catch {
      throw new Error(`page not ready: status "${await page.textContent('#status')}", console: ${consoleLines.join(' | ')}`);
    }
    expect(page.url()).not.toContain('token=');
    const state = (await page.evaluate('window.usagePage')) as { points: number; models: string[]; position: number };
    expect(state.points).toBeGreaterThan(0);
    expect(state.models).toEqual(expect.arrayContaining(['claude-3-5-haiku-latest', 'gpt-4o-mini']));
    // Painted pixels on the credits chart's canvas: uPlot drew lines, not an empty frame.
    const painted = (await page.evaluate(`(() => {
      const canvas = document.querySelector('#credits-chart canvas');
      if (canvas === null) return 0;
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let colored = 0;
      for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] > 0) colored += 1;
      return colored;
    })()`)) as number;
    expect(painted).toBeGreaterThan(500);
    const accounts = await page.$$eval('#top-accounts tbody tr td:first-child', (cells) => cells.map((c) => c.textContent));
    expect(accounts.sort()).toEqual(['ann', 'bob', 'cy']);
    expect(await page.textContent('#failure-total')).toMatch(/^1 of 10 requests failed/);
    expect(external).toEqual([]);
    mkdirSync('artifacts', { recursive: true });
    await page.screenshot({ path: join('artifacts', 'usage-page.png'), fullPage: true });
  }, 120_000);
});
