import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ServerRoute } from '@hapi/hapi';
import { problem } from '../problems.js';
import { usageScript } from './usageScript.js';

/**
 * The /usage page: plain HTML and one script, charts drawn by uPlot served
 * from node_modules (no CDN, no build step). The page holds the JWT only in
 * a variable of the tab: typed into a field or given once as `?token=`,
 * which the script removes from the address bar at once.
 */
const uplotDir = ((): string | undefined => {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  } catch {
    return undefined;
  }
})();

const assets: Readonly<Record<string, { readonly file: () => string | undefined; readonly text?: string; readonly type: string }>> = {
  'uPlot.iife.min.js': { file: () => (uplotDir === undefined ? undefined : join(uplotDir, 'uPlot.iife.min.js')), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { file: () => (uplotDir === undefined ? undefined : join(uplotDir, 'uPlot.min.css')), type: 'text/css; charset=utf-8' },
  'usage.js': { file: () => undefined, text: usageScript, type: 'text/javascript; charset=utf-8' },
};

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Usage - credit ledger gateway</title>
<link rel="stylesheet" href="/usage/assets/uPlot.min.css">
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #222; }
  header, form { display: flex; gap: .75rem; align-items: end; flex-wrap: wrap; }
  label { display: flex; flex-direction: column; font-size: 12px; color: #555; }
  input { font: inherit; padding: .25rem .4rem; }
  section { margin-top: 1.5rem; }
  h2 { font-size: 15px; margin: 0 0 .5rem; }
  table { border-collapse: collapse; }
  td, th { padding: .2rem .6rem; border-bottom: 1px solid #ddd; text-align: right; }
  td:first-child, th:first-child { text-align: left; }
  #status { color: #555; }
  .error { color: #b00020; }
</style>
</head>
<body>
<header><h1 style="font-size:20px;margin:0">Usage</h1><span id="status">Enter a token to load usage.</span></header>
<form id="controls" autocomplete="off">
  <label>JWT <input id="token" type="password" size="40" placeholder="token (kept in this tab only)"></label>
  <label>From <input id="from" type="date"></label>
  <label>To <input id="to" type="date"></label>
  <button type="submit">Show</button>
</form>
<section><h2>Credits charged per day, by model</h2><div id="credits-chart"></div></section>
<section><h2>Tokens per day (input + output), by model</h2><div id="tokens-chart"></div></section>
<section><h2>Failure rate per day</h2><div id="failure-chart"></div><p id="failure-total"></p></section>
<section><h2>Top accounts by credits charged</h2><table id="top-accounts"><thead><tr><th>account</th><th>requests</th><th>credits charged</th><th>tokens</th><th>failed</th></tr></thead><tbody></tbody></table></section>
<script src="/usage/assets/uPlot.iife.min.js"></script>
<script src="/usage/assets/usage.js"></script>
</body>
</html>
`;

export const usagePageRoutes = (): ServerRoute[] => [
  {
    method: 'GET',
    path: '/usage',
    options: { auth: false, description: 'Usage page', tags: ['usage'] },
    handler: (_request, h) => h.response(html).type('text/html; charset=utf-8').header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer'),
  },
  {
    method: 'GET',
    path: '/usage/assets/{file}',
    options: { auth: false, description: 'Usage page assets (uPlot from node_modules, the page script)', tags: ['usage'] },
    handler: async (request, h) => {
      const asset = assets[String(request.params['file'])];
      const file = asset?.file();
      if (asset === undefined || (file === undefined && asset.text === undefined)) throw problem(404, 'not-found', 'Not found', 'No such asset.');
      const body = asset.text ?? (await readFile(file as string));
      return h.response(body).type(asset.type).header('Cache-Control', 'no-cache');
    },
  },
];
