import { requiredScope } from '../oauth/scopeGuard.js';
import type { JsonSchema } from './schema.js';

/**
 * The OpenAPI 3.1 document, generated from route specs (one per route) so the
 * description cannot drift from the routes: each credits route is defined once
 * with `defineRoute` (adapters/http/route.ts), which registers the hapi route
 * AND yields its RouteSpec.
 *
 * THE SHARED FORMAT. Another plugin contributes its operations by exporting
 * its specs as plain data in this format, e.g. adapters/http/sora2/routes.ts:
 *
 *     export const sora2RouteSpecs: readonly RouteSpec[] = [...]
 *
 * server.ts merges them into the document. Rules:
 * - `path` uses hapi's `{param}` syntax, which is also OpenAPI's.
 * - `operationId` is unique, camelCase; `description` at most 300 characters
 *   (the ChatGPT Actions limit); every path parameter listed in `parameters`.
 * - `security` names schemes from `securitySchemes` below; any one of them
 *   suffices; `[]` means public. `bearerJwt` is the ledger JWT; `sora2Session`
 *   is the Sora 2 session token, sent as `Authorization: Bearer <sessionToken>`.
 * - Error responses use `problemResponse(...)`: RFC 9457 problem+json.
 * - Schemas are JSON Schema (2020-12, as OpenAPI 3.1 uses); `jsonSchemaOf(codec)`
 *   in schema.ts turns an io-ts codec into one.
 */
export type SecurityName = 'bearerJwt' | 'sora2Session' | 'apiKey';

export type ParameterSpec = {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required: boolean;
  readonly description: string;
  readonly schema: JsonSchema;
};

export type ResponseSpec = {
  readonly description: string;
  /** Defaults to application/json. */
  readonly contentType?: string;
  readonly schema?: JsonSchema;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: JsonSchema }>>;
  /** Other representations of the same answer, by content type (e.g. text/csv), chosen with Accept. */
  readonly alternatives?: Readonly<Record<string, JsonSchema>>;
};

export type RequestBodySpec = {
  readonly description: string;
  readonly schema: JsonSchema;
  readonly required?: boolean;
  /** Defaults to application/json. */
  readonly contentType?: string;
  readonly example?: unknown;
};

export type RouteSpec = {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly security: readonly SecurityName[];
  readonly parameters?: readonly ParameterSpec[];
  readonly requestBody?: RequestBodySpec;
  /** Keyed by status code ("200", "402"...). */
  readonly responses: Readonly<Record<string, ResponseSpec>>;
};

export const PROBLEM_SCHEMA_REF = '#/components/schemas/Problem';

/** An error response in the document: RFC 9457 problem+json. */
export const problemResponse = (description: string): ResponseSpec => ({
  description,
  contentType: 'application/problem+json',
  schema: { $ref: PROBLEM_SCHEMA_REF },
});

/** Error responses most authenticated routes share. */
export const commonProblems = (): Record<string, ResponseSpec> => ({
  '400': problemResponse('The request does not validate (problem type validation-failed).'),
  '401': problemResponse('Missing, invalid or expired bearer token.'),
  '429': problemResponse('Rate limit exceeded; see the Retry-After header.'),
  '503': problemResponse('A dependency (Redis, signing keys) is unavailable; retry later.'),
});

const problemSchema: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details. Extension members depend on the type.',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', description: 'A URI reference /problems/<slug> naming the kind of problem.' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string', description: 'The request path.' },
  },
  additionalProperties: true,
};

export const securitySchemes = {
  bearerJwt: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A JWT whose `sub` is the ledger user id, in Authorization: Bearer <token>.',
  },
  sora2Session: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'opaque',
    description: 'A Sora 2 session token from GET /api/sora2/auth/session, in Authorization: Bearer <sessionToken>; valid 24 h.',
  },
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'clg_<keyId>_<secret>',
    description: 'An API key (POST /api/keys or `ledger keys create`) in Authorization: Bearer <key>, or in the x-api-key header (Anthropic style).',
  },
} as const satisfies Record<SecurityName, JsonSchema>;

const contentOf = (contentType: string | undefined, schema: JsonSchema | undefined, example?: unknown) => ({
  [contentType ?? 'application/json']: { ...(schema === undefined ? {} : { schema }), ...(example === undefined ? {} : { example }) },
});

/**
 * The OAuth 2.1 scheme (the authorization server under /oauth): one scheme for
 * every operation an application such as a ChatGPT GPT may call. Which
 * operations, and with which scope, comes from the same table the REST scope
 * guard enforces (adapters/oauth/scopeGuard.ts), so the document and the
 * server cannot disagree.
 */
export const oauthScheme = (serverUrl: string) => ({
  type: 'oauth2',
  description: 'Sign in with Google through this server\'s OAuth 2.1 authorization server (authorization code + PKCE). Tokens are limited to their scopes.',
  flows: {
    authorizationCode: {
      authorizationUrl: `${serverUrl}/oauth/authorize`,
      tokenUrl: `${serverUrl}/oauth/token`,
      refreshUrl: `${serverUrl}/oauth/token`,
      scopes: {
        'credits:read': 'See your credit balance, history and usage',
        'credits:deduct': 'Spend your credits directly',
        'llm:use': 'Run chat completions paid from your credits',
        'sora2:use': 'Generate Sora 2 videos paid from your credits',
      },
    },
  },
});

const securityOf = (spec: RouteSpec) => {
  const scope = requiredScope(spec.method, spec.path);
  return [...(scope === undefined ? [] : [{ oauth: [scope] }]), ...spec.security.map((name) => ({ [name]: [] }))];
};

const operationOf = (spec: RouteSpec) => ({
  operationId: spec.operationId,
  summary: spec.summary,
  description: spec.description,
  tags: [...spec.tags],
  security: securityOf(spec),
  // ChatGPT Actions ask the user before a consequential call; reading is not one, spending is.
  ...(spec.security.length === 0 ? {} : { 'x-openai-isConsequential': spec.method !== 'GET' }),
  ...(spec.parameters === undefined || spec.parameters.length === 0 ? {} : { parameters: spec.parameters.map((p) => ({ ...p })) }),
  ...(spec.requestBody === undefined
    ? {}
    : {
        requestBody: {
          description: spec.requestBody.description,
          required: spec.requestBody.required ?? true,
          content: contentOf(spec.requestBody.contentType, spec.requestBody.schema, spec.requestBody.example),
        },
      }),
  responses: Object.fromEntries(
    Object.entries(spec.responses).map(([status, r]) => [
      status,
      {
        description: r.description,
        ...(r.headers === undefined ? {} : { headers: r.headers }),
        ...(r.schema === undefined && r.contentType === undefined
          ? {}
          : { content: { ...contentOf(r.contentType, r.schema), ...Object.fromEntries(Object.entries(r.alternatives ?? {}).map(([type, schema]) => [type, { schema }])) } }),
      },
    ]),
  ),
});

export type OpenApiInput = {
  readonly routes: readonly RouteSpec[];
  readonly serverUrl: string;
  readonly version: string;
  readonly tags?: readonly { readonly name: string; readonly description: string }[];
};

/** The OpenAPI 3.1 document for the given specs; throws on duplicate operation ids or routes (a bug). */
export const buildOpenApi = (input: OpenApiInput) => {
  const paths: Record<string, Record<string, unknown>> = {};
  const operationIds = new Set<string>();
  for (const spec of input.routes) {
    if (operationIds.has(spec.operationId)) throw new Error(`duplicate operationId ${spec.operationId}`);
    operationIds.add(spec.operationId);
    const item = (paths[spec.path] ??= {});
    const method = spec.method.toLowerCase();
    if (item[method] !== undefined) throw new Error(`duplicate route ${spec.method} ${spec.path}`);
    item[method] = operationOf(spec);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Credit ledger gateway',
      version: input.version,
      description:
        'Prepaid credits for AI usage, kept in an event-sourced ledger: check and deduct credits, read balances and history, grant credits (admins), and generate Sora 2 videos. Errors are RFC 9457 problem+json.',
    },
    servers: [{ url: input.serverUrl }],
    tags: (input.tags ?? []).map((tag) => ({ ...tag })),
    paths,
    components: { schemas: { Problem: problemSchema }, securitySchemes: { ...securitySchemes, oauth: oauthScheme(input.serverUrl.replace(/\/+$/, '')) } },
  };
};

export type OpenApiDocument = ReturnType<typeof buildOpenApi>;
