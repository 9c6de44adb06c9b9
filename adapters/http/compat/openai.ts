import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import type { KeyedRequest } from '../../../application/apiKeys/meteredWithKey.js';
import type { CompletionDone } from '../../../application/gateway/meteredCompletion.js';
import type { App } from '../../app.js';
import type { Caller, CallerAuth } from '../../auth/apiKeyAuth.js';
import { OpenAiChatBody } from './codecs.js';
import { anthropicError, classifyCompletion, openAiError, openAiStreamError } from './errors.js';
import { callerOf, decodeBody, logRequest, payloadFailAction, sendError, type Dialect } from './respond.js';
import { abortOnDisconnect, runAs, startSse, startCompletion, textOf, type Outcome } from './run.js';

/**
 * OpenAI's Chat Completions API (`POST /v1/chat/completions`, `GET /v1/models`)
 * so the official `openai` SDK works by changing only `baseURL` and the key.
 * Streaming answers are the same SSE frames OpenAI sends: a role delta, one
 * content delta per chunk, a finish delta, with `stream_options.include_usage`
 * a final usage chunk (every earlier chunk then carries `usage: null`), and
 * `data: [DONE]`.
 */
const dialect: Dialect = { error: openAiError };

const finishReason = (done: CompletionDone, maxTokens: number | undefined): 'stop' | 'length' =>
  maxTokens !== undefined && done.usage.outputTokens >= maxTokens ? 'length' : 'stop';

const usageOf = (done: CompletionDone) => ({
  prompt_tokens: done.usage.inputTokens,
  completion_tokens: done.usage.outputTokens,
  total_tokens: done.usage.inputTokens + done.usage.outputTokens,
});

const requestOf = (app: App, body: OpenAiChatBody): KeyedRequest => {
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  return {
    requestId: `chatcmpl-${app.ids.newId()}`,
    preference: 'auto',
    model: body.model,
    messages: body.messages.map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, content: textOf(m.content) })),
    ...(maxTokens === undefined ? {} : { maxTokens }),
    ...(body.temperature === undefined || body.temperature === null ? {} : { temperature: body.temperature }),
  };
};

const logOutcome = (app: App, caller: Caller, request: Request, req: KeyedRequest, stream: boolean, outcome: Outcome) =>
  logRequest(app, caller, request, {
    api: 'openai',
    requestId: req.requestId,
    model: req.model,
    stream,
    outcome: E.isRight(outcome) ? outcome.right.ended : outcome.left._tag,
    ...(E.isRight(outcome) ? { credits: outcome.right.charged, inputTokens: outcome.right.usage.inputTokens, outputTokens: outcome.right.usage.outputTokens } : {}),
  });

type ChunkEnvelope = { readonly id: string; readonly object: string; readonly created: number; readonly model: string; readonly system_fingerprint: null };

/**
 * The SSE frames of one streamed answer. `content(text)` is byte for byte
 * `frame({ content: text }, null)`, built from the envelope's text made once
 * per answer: a streamed answer sends one per chunk, and encoding the whole
 * envelope again for each was 1-2 % of the API's CPU.
 */
export const chunkFrames = (envelope: ChunkEnvelope, withUsage: boolean) => {
  const usage = withUsage ? { usage: null } : {};
  const frame = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({ ...envelope, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...usage })}\n\n`;
  const head = `data: {${JSON.stringify(envelope).slice(1, -1)},"choices":[{"index":0,"delta":{"content":`;
  const tail = `},"logprobs":null,"finish_reason":null}]${withUsage ? ',"usage":null' : ''}}\n\n`;
  return { frame, content: (text: string) => `${head}${JSON.stringify(text)}${tail}` };
};

const streamAnswer = async (app: App, caller: Caller, req: KeyedRequest, body: OpenAiChatBody, request: Request, h: ResponseToolkit) => {
  const controller = abortOnDisconnect(request);
  const started = await startCompletion((sink) => runAs(app, caller, req, sink, controller.signal));
  if (started.endedFirst !== undefined && E.isLeft(started.endedFirst)) {
    logOutcome(app, caller, request, req, true, started.endedFirst);
    return sendError(h, openAiError(classifyCompletion(started.endedFirst.left)));
  }
  const withUsage = body.stream_options?.include_usage === true;
  const envelope = { id: req.requestId, object: 'chat.completion.chunk', created: Math.floor(app.clock.now() / 1000), model: req.model, system_fingerprint: null };
  const { frame, content } = chunkFrames(envelope, withUsage);
  const { sse, result } = startSse(request, h);
  sse.send(frame({ role: 'assistant', content: '', refusal: null }, null));
  for (const text of started.early) sse.send(content(text));
  started.follow((text) => sse.send(content(text)));
  void started.done.then((outcome) => {
    logOutcome(app, caller, request, req, true, outcome);
    if (E.isLeft(outcome)) sse.send(`data: ${JSON.stringify(openAiStreamError(classifyCompletion(outcome.left)))}\n\n`);
    else {
      sse.send(frame({}, finishReason(outcome.right, req.maxTokens)));
      if (withUsage) sse.send(`data: ${JSON.stringify({ ...envelope, choices: [], usage: usageOf(outcome.right) })}\n\n`);
      sse.send('data: [DONE]\n\n');
    }
    sse.end();
  });
  return result;
};

const wholeAnswer = async (app: App, caller: Caller, req: KeyedRequest, request: Request, h: ResponseToolkit) => {
  const controller = abortOnDisconnect(request);
  const parts: string[] = [];
  const outcome = await runAs(app, caller, req, { chunk: (text) => parts.push(text) }, controller.signal);
  logOutcome(app, caller, request, req, false, outcome);
  if (E.isLeft(outcome)) return sendError(h, openAiError(classifyCompletion(outcome.left)));
  const done = outcome.right;
  return h
    .response({
      id: req.requestId,
      object: 'chat.completion',
      created: Math.floor(app.clock.now() / 1000),
      model: req.model,
      choices: [{ index: 0, message: { role: 'assistant', content: parts.join(''), refusal: null }, logprobs: null, finish_reason: finishReason(done, req.maxTokens) }],
      usage: usageOf(done),
      system_fingerprint: null,
    })
    .header('x-credits-charged', String(done.charged))
    .header('x-credits-balance', String(done.balance));
};

/** The models of the price sheet, in OpenAI's list shape (or Anthropic's, for a caller sending `anthropic-version`). */
const listModels = (app: App, caller: Caller, request: Request) => {
  const sheet = app.llm.prices.current();
  const allowed = caller.kind === 'key' ? caller.key.models : null;
  const ids = Object.keys(sheet.models).filter((id) => allowed === null || allowed.includes(id));
  if (request.headers['anthropic-version'] !== undefined) {
    const data = ids.filter((id) => sheet.models[id]?.provider === 'claude').map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' }));
    return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
  }
  return { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: sheet.models[id]?.provider === 'claude' ? 'anthropic' : 'openai' })) };
};

export const openAiRoutes = (app: App, auth: CallerAuth): ServerRoute[] => [
  {
    method: 'POST',
    path: '/v1/chat/completions',
    options: {
      auth: false,
      id: 'openaiChatCompletions',
      payload: { parse: true, allow: 'application/json', failAction: payloadFailAction(dialect) },
      handler: async (request, h) => {
        const caller = await callerOf(auth, request, dialect);
        if (E.isLeft(caller)) return sendError(h, caller.left);
        const body = decodeBody(OpenAiChatBody, request.payload, dialect);
        if (E.isLeft(body)) return sendError(h, body.left);
        const req = requestOf(app, body.right);
        return body.right.stream === true ? streamAnswer(app, caller.right, req, body.right, request, h) : wholeAnswer(app, caller.right, req, request, h);
      },
    },
  },
  {
    method: 'GET',
    path: '/v1/models',
    options: {
      auth: false,
      id: 'openaiListModels',
      handler: async (request, h) => {
        // Both SDKs list models here; a caller sending anthropic-version gets Anthropic's shapes, errors included.
        const caller = await callerOf(auth, request, request.headers['anthropic-version'] === undefined ? dialect : { error: anthropicError });
        if (E.isLeft(caller)) return sendError(h, caller.left);
        return listModels(app, caller.right, request);
      },
    },
  },
];
