import { makeInProcessSessionStore } from '../../../adapters/inprocess/inProcessSessionStore.js';
import { sessionStoreContract } from '../../contract/sessionStore.contract.js';

sessionStoreContract('inprocess', async () => {
  let nowMs = 1_700_000_000_000;
  return {
    store: makeInProcessSessionStore({ now: () => nowMs, sweepEvery: 7 }),
    advance: async (ms) => {
      nowMs += ms;
    },
    close: async () => undefined,
  };
});
