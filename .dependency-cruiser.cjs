/**
 * The layer rule from docs/architecture.md, checked in CI (`npm run layers`).
 * domain: pure, only fp-ts / io-ts and itself.
 * application: domain, fp-ts / io-ts, and node:crypto for hashing; never adapters.
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'domain/ may import only fp-ts, io-ts and other domain/ modules',
      from: { path: '^domain/' },
      to: { pathNot: ['^domain/', '(^|/)node_modules/(fp-ts|io-ts)/'] },
    },
    {
      name: 'application-not-to-adapters',
      severity: 'error',
      comment: 'application/ may not import adapters/',
      from: { path: '^application/' },
      to: { path: '^adapters/' },
    },
    {
      name: 'application-no-io',
      severity: 'error',
      comment: 'application/ reaches the outside world only through ports; hashing (node:crypto) is the one built-in allowed',
      from: { path: '^application/' },
      to: { pathNot: ['^domain/', '^application/', '(^|/)node_modules/(fp-ts|io-ts)/', '^crypto$', '^node:crypto$'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.json'] },
    exclude: { path: ['\\.test\\.ts$', '^test/'] },
  },
};
