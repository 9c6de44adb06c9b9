#!/usr/bin/env node
// Streams one chat completion through the gateway's WebSocket API with the
// bundled client (compiled to dist/ by `npm ci`), then prints what it cost.
//
//   TOKEN=$(npx ledger token alice) node examples/stream.mjs "Say hello"
//
// Environment: TOKEN (required), WS_PORT (default 3003) or WS_URL, MODEL
// (default gpt-4o-mini). See docs/protocol.md for the messages underneath.
import { connectGateway } from '../dist/adapters/ws/client.js';

const token = process.env.TOKEN;
if (!token) {
  console.error('TOKEN is not set: TOKEN=$(npx ledger token <user>) node examples/stream.mjs');
  process.exit(2);
}
const url = process.env.WS_URL ?? `ws://127.0.0.1:${process.env.WS_PORT ?? '3003'}`;
const prompt = process.argv.slice(2).join(' ') || 'Say something about ledgers.';

const gateway = await connectGateway({ url, token });
try {
  const answer = gateway.complete({
    model: process.env.MODEL ?? 'gpt-4o-mini',
    messages: [{ role: 'user', content: prompt }],
    maxTokens: 200,
  });
  for await (const chunk of answer) process.stdout.write(chunk.data);
  const { usage, credits } = await answer.done;
  process.stdout.write('\n');
  console.log(`usage ${JSON.stringify(usage)}; charged ${credits.charged} credits, balance ${credits.balance}`);
} finally {
  await gateway.close();
}
