import type { Lifecycle, Request, ResponseToolkit, RouteOptions, ServerRoute } from '@hapi/hapi';
import type * as t from 'io-ts';
import { JWT_STRATEGY } from './auth.js';
import type { ParameterSpec, RequestBodySpec, RouteSpec, SecurityName } from './openapi.js';
import type { JsonSchema } from './schema.js';
import { validationProblem } from './problems.js';
import { hapiValidator, jsonSchemaOf } from './schema.js';
import { parseStrictJson, requireJsonContentType } from './strictJson.js';

/** The query validator of a route that takes no query parameters. */
const refuseAnyQuery = (value: unknown): t.TypeOf<t.Mixed> => {
  const keys = typeof value === 'object' && value !== null ? Object.keys(value) : [];
  if (keys.length > 0) throw validationProblem('query', keys.slice(0, 20).map((k) => ({ path: k.slice(0, 64), message: 'is not allowed' })));
  return {};
};

/**
 * One definition per route: method, path, io-ts codecs for params, query and
 * payload, documentation, and the handler. `defineRoute` turns it into the
 * hapi route (validation with the codecs, auth from `security`) and into the
 * RouteSpec the OpenAPI document is built from, so neither can drift.
 */
export type HapiStrategyOf = Readonly<Record<SecurityName, string>>;

/** hapi strategy names behind the document's security schemes. */
// API keys have no hapi strategy: the compatible routes authenticate in their handlers (adapters/http/compat).
export const strategies: HapiStrategyOf = { bearerJwt: JWT_STRATEGY, sora2Session: 'sora2-session', apiKey: 'api-key' };

export type RouteInput<P, Q, A> = {
  readonly payload: P;
  readonly query: Q;
  readonly params: A;
  readonly request: Request;
  readonly h: ResponseToolkit;
};

type Codec = t.Mixed;

export type RouteDefinitionInput<P extends Codec, Q extends Codec, A extends Codec> = Omit<RouteSpec, 'parameters' | 'requestBody'> & {
  readonly params?: A;
  readonly query?: Q;
  readonly payload?: P;
  readonly payloadDescription?: string;
  readonly payloadExample?: unknown;
  /** Documented request headers (validated by the handler). */
  readonly headers?: readonly ParameterSpec[];
  readonly maxBytes?: number;
  readonly handler: (input: RouteInput<t.TypeOf<P>, t.TypeOf<Q>, t.TypeOf<A>>) => Lifecycle.ReturnValue;
};

export type RouteDefinition = { readonly spec: RouteSpec; readonly route: ServerRoute };

/** Parameters from a t.type (required) / t.partial (optional) codec, or their intersection. */
export const parametersOf = (codec: Codec | undefined, location: 'path' | 'query'): ParameterSpec[] => {
  if (codec === undefined) return [];
  const schema = jsonSchemaOf(codec);
  const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema['required'] as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, s]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    description: typeof s['description'] === 'string' ? s['description'] : name,
    schema: s,
  }));
};

const authOf = (security: readonly SecurityName[]): RouteOptions['auth'] =>
  security.length === 0 ? false : { strategies: security.map((name) => strategies[name]), mode: 'required' };

export const defineRoute = <P extends Codec = t.UnknownC, Q extends Codec = t.UnknownC, A extends Codec = t.UnknownC>(
  def: RouteDefinitionInput<P, Q, A>,
): RouteDefinition => {
  const { params, query, payload, payloadDescription, payloadExample, headers, maxBytes, handler, ...doc } = def;
  const requestBody: RequestBodySpec | undefined =
    payload === undefined
      ? undefined
      : {
          description: payloadDescription ?? 'JSON body.',
          schema: jsonSchemaOf(payload),
          ...(payloadExample === undefined ? {} : { example: payloadExample }),
        };
  const parameters = [...parametersOf(params, 'path'), ...parametersOf(query, 'query'), ...(headers ?? [])];
  const spec: RouteSpec = { ...doc, ...(parameters.length === 0 ? {} : { parameters }), ...(requestBody === undefined ? {} : { requestBody }) };
  // A route that neither declares a query codec nor documents query parameters its handler reads
  // (an OAuth redirect does) takes no query at all: `?userId=bob` is refused, never silently ignored.
  const readsOwnQuery = (headers ?? []).some((h) => h.in === 'query');
  const payloadValidator = payload === undefined ? undefined : hapiValidator(payload, 'payload');
  const validate = {
    ...(params === undefined ? {} : { params: hapiValidator(params, 'params') }),
    ...(query !== undefined ? { query: hapiValidator(query, 'query') } : readsOwnQuery ? {} : { query: refuseAnyQuery }),
  };
  // hapi validates only parsed payloads, so the raw body is parsed and decoded right before the handler.
  const decodePayload: Lifecycle.Method = (request, h) => {
    if (payloadValidator !== undefined) (request as { payload: unknown }).payload = payloadValidator(parseStrictJson(request.payload));
    return h.continue;
  };
  const route: ServerRoute = {
    method: def.method,
    path: def.path,
    options: {
      auth: authOf(def.security),
      id: def.operationId,
      description: def.summary,
      tags: ['api', ...def.tags],
      ...(Object.keys(validate).length === 0 ? {} : { validate }),
      // Bodies are read raw and parsed here (strictJson.ts): a Content-Type is required and duplicate keys are refused.
      ...(payload === undefined
        ? {}
        : {
            payload: { parse: false, output: 'data' as const, ...(maxBytes === undefined ? {} : { maxBytes }) },
            ext: { onPreAuth: { method: requireJsonContentType }, onPreHandler: { method: decodePayload } },
          }),
      handler: (request, h) =>
        handler({ payload: request.payload as t.TypeOf<P>, query: request.query as t.TypeOf<Q>, params: request.params as t.TypeOf<A>, request, h }),
    },
  };
  return { spec, route };
};
