// Jest runs our TypeScript as native ES modules (see docs/architecture.md,
// "Module system"): @swc/jest strips types, Node's VM modules load the result.
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
  rootDir: '.',
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/**/*.unit.test.ts'] },
    // Integration and e2e tests spawn processes and servers: on a loaded 2-core CI machine they need room.
    { ...common, displayName: 'int', testMatch: ['<rootDir>/test/**/*.int.test.ts'], setupFilesAfterEnv: ['<rootDir>/test/support/longTimeout.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e.test.ts'], setupFilesAfterEnv: ['<rootDir>/test/support/longTimeout.ts'] },
  ],
};
