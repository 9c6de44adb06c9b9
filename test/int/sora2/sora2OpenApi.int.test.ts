import { describe, expect, it } from '@jest/globals';
import { buildOpenApi } from '../../../adapters/http/openapi.js';
import { sora2RouteSpecs } from '../../../adapters/http/sora2/routes.js';
import { validateOpenApi } from '../http/validateOpenApi.js';

/**
 * The Sora 2 operations as a Custom GPT Action imports them: a valid OpenAPI
 * document, operation ids, short descriptions, the session-token scheme on
 * the protected routes and none on the sign-in steps.
 */
describe('Sora 2 OpenAPI specs', () => {
  const doc = buildOpenApi({ routes: sora2RouteSpecs, serverUrl: 'https://api.example.com', version: 'test' });

  it('validates with swagger-parser', () => {
    const result = validateOpenApi(doc);
    expect(result.message).toBe('valid');
  });

  it('documents every route once with an operation id, a description a GPT Action accepts, and the right security', () => {
    const bySecurity = Object.fromEntries(sora2RouteSpecs.map((s) => [s.operationId, s.security]));
    expect(bySecurity).toEqual({
      sora2StartSignIn: [],
      downloadSora2Video: [],
      sora2SignInCallback: [],
      getSora2Session: [],
      listSora2Jobs: ['sora2Session'],
      revokeSora2Session: ['sora2Session'],
      generateSora2Video: ['sora2Session'],
      getSora2Job: ['sora2Session'],
      getSora2JobContent: ['sora2Session'],
    });
    for (const spec of sora2RouteSpecs) {
      expect(spec.description.length).toBeLessThanOrEqual(300);
      expect(spec.path.startsWith('/api/sora2/')).toBe(true);
    }
    const generate = doc.paths['/api/sora2/generate']?.['post'] as { requestBody: { content: Record<string, { schema: Record<string, unknown> }> } };
    expect(generate.requestBody.content['application/json']?.schema).toMatchObject({
      required: ['prompt', 'duration', 'resolution'],
      properties: { duration: { type: 'integer', enum: [4, 8, 12] } },
    });
  });
});
