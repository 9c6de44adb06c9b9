import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Request } from '@hapi/hapi';
import * as t from 'io-ts';
import type { OpenApiDocument, RouteSpec } from './openapi.js';
import { buildOpenApi, problemResponse } from './openapi.js';
import { problemCatalog, problemTypeBySlug } from './problemCatalog.js';
import { problem } from './problems.js';
import type { RouteDefinition } from './route.js';
import { defineRoute } from './route.js';
import { boundedString } from './schema.js';

/**
 * The API description for people and for ChatGPT Custom GPT Actions:
 * /openapi.json (OpenAPI 3.1, generated from the route specs), /docs
 * (Swagger UI when its assets are installed, always a plain list of
 * operations), and /problems/<slug> (what each problem type means).
 */
export type DocsDeps = {
  /** Specs of every documented route, including other plugins' (Sora 2). */
  readonly specs: () => readonly RouteSpec[];
  readonly publicUrl: string | undefined;
  readonly version: string;
};

const tags = [
  { name: 'credits', description: 'Balances, checks, idempotent deductions and history of prepaid credit accounts.' },
  { name: 'admin', description: 'Operations that need admin permissions.' },
  { name: 'sora2', description: 'Sora 2 video generation with a verified session.' },
  { name: 'operations', description: 'Health, statistics and metrics.' },
  { name: 'usage', description: 'Usage analytics from the ledger: requests, tokens and credits by account, model, provider, service and day.' },
];

/** The server URL the document advertises: PUBLIC_URL when set, else the origin this request reached. */
const serverUrlOf = (request: Request, publicUrl: string | undefined): string =>
  (publicUrl ?? `${request.server.info.protocol}://${request.info.host}`).replace(/\/+$/, '');

export const openApiDocument = (deps: DocsDeps, serverUrl: string): OpenApiDocument =>
  buildOpenApi({ routes: deps.specs(), serverUrl, version: deps.version, tags });

/**
 * Swagger UI's assets come from swagger-ui-dist, a dependency. Resolution is
 * kept defensive: without the package, /docs still lists every operation.
 */
const swaggerUiDir = ((): string | undefined => {
  try {
    return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  } catch {
    return undefined;
  }
})();

const assets: Readonly<Record<string, string>> = { 'swagger-ui.css': 'text/css', 'swagger-ui-bundle.js': 'text/javascript' };
const assetCache = new Map<string, Buffer>();

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const docsPage = (specs: readonly RouteSpec[]): string => {
  const items = specs
    .map((s) => `<li><code>${s.method} ${escapeHtml(s.path)}</code> <b>${escapeHtml(s.operationId)}</b>: ${escapeHtml(s.summary)}</li>`)
    .join('\n');
  const ui =
    swaggerUiDir === undefined
      ? ''
      : `<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.addEventListener('load', () => { document.getElementById('plain').hidden = true; window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' }); });</script>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Credit ledger gateway API</title>${ui}</head>
<body><div id="swagger-ui"></div>
<section id="plain"><h1>Credit ledger gateway API</h1><p>OpenAPI document: <a href="/openapi.json">/openapi.json</a>. Problem types: <a href="/problems">/problems</a>.</p>
<ul>
${items}
</ul></section></body></html>`;
};

const AssetParams = t.type({ file: boundedString('Asset', 64, /^[a-z0-9.-]+$/, 'Asset file name.') });
const SlugParams = t.type({ slug: boundedString('Slug', 64, /^[a-z0-9-]+$/, 'Problem type slug.') });

const hidden = { tags: ['operations'], security: [] } as const;

export const docsRoutes = (deps: DocsDeps): RouteDefinition[] => [
  defineRoute({
    method: 'GET',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This OpenAPI document',
    description: 'The OpenAPI 3.1 description of the API, for clients and ChatGPT Custom GPT Actions.',
    ...hidden,
    responses: { '200': { description: 'OpenAPI 3.1 document.', schema: { type: 'object' } } },
    handler: ({ request }) => openApiDocument(deps, serverUrlOf(request, deps.publicUrl)),
  }),
  defineRoute({
    method: 'GET',
    path: '/docs',
    operationId: 'getDocs',
    summary: 'API documentation page',
    description: 'A page rendering the OpenAPI document (Swagger UI) with a plain list of operations.',
    ...hidden,
    responses: { '200': { description: 'HTML page.', contentType: 'text/html', schema: { type: 'string' } } },
    handler: ({ h }) => h.response(docsPage(deps.specs())).type('text/html; charset=utf-8'),
  }),
  defineRoute({
    method: 'GET',
    path: '/docs/assets/{file}',
    operationId: 'getDocsAsset',
    summary: 'Swagger UI asset',
    description: 'Static files of the documentation page.',
    ...hidden,
    params: AssetParams,
    responses: { '200': { description: 'The file.' }, '404': problemResponse('No such asset.') },
    handler: async ({ params, h }) => {
      const type = assets[params.file];
      if (type === undefined || swaggerUiDir === undefined) throw problem(404, 'not-found', 'Not found', 'No such asset.');
      let body = assetCache.get(params.file);
      if (body === undefined) {
        body = await readFile(join(swaggerUiDir, params.file));
        assetCache.set(params.file, body);
      }
      return h.response(body).type(type).header('Cache-Control', 'public, max-age=86400');
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/problems',
    operationId: 'listProblemTypes',
    summary: 'Problem types',
    description: 'Every problem type (RFC 9457) the API answers with, with its status and meaning.',
    ...hidden,
    responses: { '200': { description: 'The list.', schema: { type: 'array', items: { type: 'object' } } } },
    handler: () => problemCatalog.map((p) => ({ type: `/problems/${p.slug}`, ...p })),
  }),
  defineRoute({
    method: 'GET',
    path: '/problems/{slug}',
    operationId: 'getProblemType',
    summary: 'One problem type',
    description: 'What a problem type means and what to do about it.',
    ...hidden,
    params: SlugParams,
    responses: { '200': { description: 'The description.', schema: { type: 'object' } }, '404': problemResponse('Unknown problem type.') },
    handler: ({ params }) => {
      const entry = problemTypeBySlug.get(params.slug);
      if (entry === undefined) throw problem(404, 'not-found', 'Not found', `No problem type ${params.slug}.`);
      return { type: `/problems/${entry.slug}`, ...entry };
    },
  }),
];
