// The attacker, run in a worker thread so that building, masking and sending its frames never
// occupies the event loop of the service under test (which shares the test process).
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { parentPort, workerData } from 'node:worker_threads';
import { WebSocket } from 'ws';

const { url, token, mode } = workerData;
const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
const frames = [];
let bytesIn = 0;
let waiter;
ws.on('message', (data) => {
  bytesIn += data.length;
  const frame = JSON.parse(data.toString());
  frames.push(frame);
  if (waiter !== undefined && waiter.match(frame)) {
    const w = waiter;
    waiter = undefined;
    w.resolve(frame);
  }
});
const next = (match) => new Promise((resolve) => (waiter = { match, resolve }));
const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
const tick = () => new Promise((r) => setImmediate(r));

const worst = async () => {
  const { template, id, minCount, maxCount, minMs } = workerData;
  const started = performance.now();
  let sent = 0;
  while (sent < maxCount && (sent < minCount || performance.now() - started < minMs)) {
    const reqId = `${id}-${sent}`;
    const answered = next((f) => f.id === reqId && f.type === 'error');
    ws.send(template.replace(`"id":"${id}"`, `"id":"${reqId}"`));
    await answered;
    sent += 1;
  }
  return { sent, elapsedMs: performance.now() - started };
};

const flood = async () => {
  for (let i = 0; i < workerData.count; i += 1) {
    if (ws.readyState !== WebSocket.OPEN) break;
    ws.send(workerData.frame ?? JSON.stringify({ id: `c${i}`, type: 'cancel' }));
    if (i % 50 === 0) await tick();
  }
  const code = await Promise.race([closed, new Promise((r) => setTimeout(() => r(0), 10_000))]);
  return { closeCode: code };
};

const resumeFlood = async () => {
  const until = performance.now() + workerData.ms;
  let sent = 0;
  while (performance.now() < until && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ id: workerData.id, type: 'resume', after: 0 }));
    sent += 1;
    if (sent % 10 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise((r) => setTimeout(r, 300));
  return { sent };
};

ws.once('open', async () => {
  const result = await (mode === 'worst' ? worst() : mode === 'flood' ? flood() : resumeFlood());
  ws.close();
  const summary = frames.reduce((acc, f) => {
    const key = f.type === 'error' ? `${f.error.code}${f.error.limit ? `:${f.error.limit}` : ''}` : f.type;
    acc[key] = (acc[key] ?? 0) + 1;
    return acc;
  }, {});
  parentPort.postMessage({ ...result, bytesIn, frames: frames.length, summary });
});
ws.once('error', (e) => parentPort.postMessage({ error: e.message }));
