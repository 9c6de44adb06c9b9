import type { Server } from '@hapi/hapi';
import * as t from 'io-ts';
import { LogRangeError } from '../../../application/merkle/ledgerLog.js';
import type { App } from '../../app.js';
import type { RouteSpec } from '../openapi.js';
import { problemResponse } from '../openapi.js';
import { problem } from '../problems.js';
import { defineRoute, type RouteDefinition } from '../route.js';
import { intFromString } from '../schema.js';

/**
 * The ledger's transparency endpoints (docs/audit.md): the latest signed
 * checkpoint (C2SP signed note), the verifier key (C2SP vkey), and RFC 9162
 * inclusion and consistency proofs. Public on purpose: they reveal only
 * hashes, and auditors and witnesses must be able to fetch them without an
 * account. Every answer is O(log n) work.
 */
const MAX = Number.MAX_SAFE_INTEGER;
const InclusionQuery = t.intersection([
  t.type({ position: intFromString('Position', 0, MAX, 'Global position of the event.') }),
  t.partial({ size: intFromString('TreeSize', 1, MAX, 'Tree size the proof is for (a checkpoint size); default the current size.') }),
]);
const ConsistencyQuery = t.intersection([
  t.type({ from: intFromString('FromSize', 0, MAX, 'The older tree size (an earlier checkpoint).') }),
  t.partial({ to: intFromString('ToSize', 0, MAX, 'The newer tree size; default the current size.') }),
]);

const outOfRange = (error: unknown) => {
  if (error instanceof LogRangeError) return problem(404, 'not-in-log', 'Not in the log', error.message);
  throw error;
};

const hexList = { type: 'array', items: { type: 'string', pattern: '^[0-9a-f]{64}$' } } as const;

export const ledgerRoutes = (app: App): RouteDefinition[] => [
  defineRoute({
    method: 'GET',
    path: '/api/ledger/checkpoint',
    operationId: 'getLedgerCheckpoint',
    summary: 'Latest signed checkpoint of the ledger log',
    description: 'A C2SP signed note: origin, tree size, base64 RFC 9162 root hash, and an Ed25519 signature line. Verify it with the key from /api/ledger/key.',
    tags: ['ledger'],
    security: [],
    responses: { '200': { description: 'The signed checkpoint.', contentType: 'text/plain', schema: { type: 'string' } } },
    handler: async ({ h }) => h.response(await app.ledgerLog.latest()).type('text/plain; charset=utf-8'),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/ledger/key',
    operationId: 'getLedgerKey',
    summary: 'Verifier key of the ledger checkpoints',
    description: 'The C2SP vkey (name+keyid+base64 key) that verifies every checkpoint this ledger signs.',
    tags: ['ledger'],
    security: [],
    responses: { '200': { description: 'The verifier key.', contentType: 'text/plain', schema: { type: 'string' } } },
    handler: ({ h }) => h.response(`${app.ledgerLog.vkey}\n`).type('text/plain; charset=utf-8'),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/ledger/proof/inclusion',
    operationId: 'getInclusionProof',
    summary: 'Proof that an event is in the log',
    description: 'RFC 9162 inclusion proof of the event at `position` in the tree of `size` events (a checkpoint size).',
    tags: ['ledger'],
    security: [],
    query: InclusionQuery,
    responses: {
      '200': {
        description: 'The proof: leaf index, tree size, leaf hash and audit path (hex).',
        schema: { type: 'object', properties: { position: { type: 'integer' }, leafIndex: { type: 'integer' }, treeSize: { type: 'integer' }, leafHash: { type: 'string' }, proof: hexList } },
      },
      '400': problemResponse('A query parameter is missing or not a whole number.'),
      '404': problemResponse('The position or size is not in the log (yet).'),
    },
    handler: ({ query }) => {
      try {
        return app.ledgerLog.inclusion(query.position, query.size);
      } catch (error) {
        return outOfRange(error);
      }
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/ledger/proof/consistency',
    operationId: 'getConsistencyProof',
    summary: 'Proof that the log only grew between two sizes',
    description: 'RFC 9162 consistency proof from the tree of `from` events to the tree of `to` events.',
    tags: ['ledger'],
    security: [],
    query: ConsistencyQuery,
    responses: {
      '200': { description: 'The proof (hex hashes).', schema: { type: 'object', properties: { from: { type: 'integer' }, to: { type: 'integer' }, proof: hexList } } },
      '400': problemResponse('A query parameter is missing or not a whole number.'),
      '404': problemResponse('A size is larger than the log.'),
    },
    handler: ({ query }) => {
      try {
        return app.ledgerLog.consistency(query.from, query.to);
      } catch (error) {
        return outOfRange(error);
      }
    },
  }),
];

/** Registers the routes; returns their specs for the OpenAPI document. */
export const registerLedgerRoutes = (server: Server, app: App): RouteSpec[] => {
  const routes = ledgerRoutes(app);
  server.route(routes.map((r) => r.route));
  return routes.map((r) => r.spec);
};
