// Child process for test/int/http/backgroundHealth.int.test.ts:
//
//   node --import ./test/support/swcRegister.mjs test/support/unhandledRejectionChild.ts
//
// Starts the service on the embedded defaults (memory store, ports 0), installs
// the process guards exactly as the entry point does, lets two promises reject
// unhandled, and prints the supervisor's count once the process is still alive.
import { installProcessGuards, startService } from '../../adapters/main.js';
import { makeLogger } from '../../adapters/logging.js';

const service = await startService(
  { EVENT_STORE: 'memory:', PORT: '0', WS_PORT: '0', HOST: '127.0.0.1', JWT_SECRET: 'child-secret-0123456789abcdef-0123456789', LOG_LEVEL: 'silent' },
  { logger: makeLogger('silent') },
);
installProcessGuards(service.app);
void Promise.reject(new Error('nobody handles this one'));
void Promise.reject(new Error('nor this one'));
await new Promise((resolve) => setTimeout(resolve, 200));
process.stdout.write(`alive ${service.app.supervisor.state().unhandledRejections}\n`);
await service.stop();
