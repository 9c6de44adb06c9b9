// `node --import ./test/support/swcRegister.mjs some.ts` runs any TypeScript
// file of the project (see swcLoader.mjs). Source maps make stack traces point
// at the .ts lines.
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register('./swcLoader.mjs', import.meta.url);
