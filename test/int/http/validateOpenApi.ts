import { spawnSync } from 'node:child_process';

/**
 * Validates an OpenAPI document with @apidevtools/swagger-parser in a child
 * Node process: the parser loads an ES-module-only dependency through
 * require(), which plain Node supports but Jest's module loader does not.
 */
const script = `
let text = '';
process.stdin.on('data', (d) => (text += d)).on('end', () =>
  require('@apidevtools/swagger-parser')
    .validate(JSON.parse(text))
    .then(() => process.stdout.write('valid'), (e) => { process.stdout.write(e.message); process.exitCode = 1; }));
`;

export const validateOpenApi = (doc: unknown): { readonly valid: boolean; readonly message: string } => {
  const result = spawnSync(process.execPath, ['-e', script], { input: JSON.stringify(doc), cwd: process.cwd(), encoding: 'utf8', timeout: 30_000 });
  return { valid: result.status === 0, message: `${result.stdout}${result.stderr}`.trim() };
};
