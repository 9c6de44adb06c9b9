import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      // fp-ts 2 and io-ts have no "exports" map: Node's ESM loader cannot resolve
      // 'fp-ts/Either' (a folder), so compiled code must name the file.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['fp-ts/*', '!fp-ts/lib'], message: "Import fp-ts modules as 'fp-ts/lib/<Module>.js' (plain Node cannot load 'fp-ts/<Module>')." },
            { group: ['io-ts/*', '!io-ts/lib'], message: "Import io-ts modules as 'io-ts/lib/<Module>.js'." },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', module: 'writable', require: 'readonly', URL: 'readonly', setTimeout: 'readonly' } },
  },
);
