import { parentPort, workerData } from 'node:worker_threads';
import { startAnthropicFixture } from '../../test/support/anthropicFixture.js';
import { startOpenAiFixture } from '../../test/support/openaiFixture.js';

/**
 * Runs both fixture servers on their own thread (and so, on a 2-core
 * machine, mostly on the other core), so the server's writing does not share
 * an event loop with the clients being measured.
 */

const { chunks } = workerData as { chunks: number };
const reply = {
  chunks: Array.from({ length: chunks }, (_, i) => ` w${i % 10}`),
  usage: { inputTokens: 12, outputTokens: chunks },
};

const [openai, claude] = await Promise.all([startOpenAiFixture(), startAnthropicFixture()]);
openai.setDefault(reply);
claude.setDefault(reply);
// The fixtures record every request; the bench sends thousands, so forget them as they come.
setInterval(() => {
  openai.requests.length = 0;
  claude.requests.length = 0;
}, 1_000).unref();

parentPort?.postMessage({ openai: openai.baseURL, claude: claude.baseURL });
parentPort?.on('message', (msg: unknown) => {
  if (msg === 'close') {
    void Promise.all([openai.close(), claude.close()]).then(() => process.exit(0));
  }
});
