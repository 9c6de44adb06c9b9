import { jest } from '@jest/globals';

// Integration and e2e tests spawn processes and servers; on a loaded 2-core CI machine they need more than jest's 5 s.
jest.setTimeout(60_000);
