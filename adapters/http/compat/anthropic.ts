import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import * as E from 'fp-ts/lib/Either.js';
import type { KeyedRequest } from '../../../application/apiKeys/meteredWithKey.js';
import type { CompletionDone } from '../../../application/gateway/meteredCompletion.js';
import type { ChatMessage } from '../../../application/ports/llmProvider.js';
import type { App } from '../../app.js';
import type { Caller, CallerAuth } from '../../auth/apiKeyAuth.js';
import { AnthropicMessagesBody } from './codecs.js';
import { anthropicError, anthropicStreamError, classifyCompletion } from './errors.js';
import { callerOf, decodeBody, logRequest, payloadFailAction, sendError, type Dialect } from './respond.js';
import { abortOnDisconnect, runAs, startSse, startCompletion, textOf, type Outcome } from './run.js';

/**
 * Anthropic's Messages API (`POST /v1/messages`) so the official
 * `@anthropic-ai/sdk` works by changing only `baseURL` and the key. Streams
 * are Anthropic's named events: message_start, content_block_start, ping,
 * content_block_delta (text_delta)..., content_block_stop, message_delta
 * (stop reason and the final usage, input tokens included, since they are
 * only known once the provider has answered), message_stop.
 */
const dialect: Dialect = { error: anthropicError };

const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

const stopReason = (done: CompletionDone, maxTokens: number): 'end_turn' | 'max_tokens' => (done.usage.outputTokens >= maxTokens ? 'max_tokens' : 'end_turn');

const requestOf = (app: App, body: AnthropicMessagesBody): KeyedRequest => {
  const system: ChatMessage[] = body.system === undefined ? [] : [{ role: 'system', content: textOf(body.system) }];
  return {
    requestId: `msg_${app.ids.newId().replace(/-/g, '')}`,
    preference: 'auto',
    model: body.model,
    messages: [...system, ...body.messages.map((m) => ({ role: m.role, content: textOf(m.content) }))],
    maxTokens: body.max_tokens,
    ...(body.temperature === undefined ? {} : { temperature: body.temperature }),
  };
};

const logOutcome = (app: App, caller: Caller, request: Request, req: KeyedRequest, stream: boolean, outcome: Outcome) =>
  logRequest(app, caller, request, {
    api: 'anthropic',
    requestId: req.requestId,
    model: req.model,
    stream,
    outcome: E.isRight(outcome) ? outcome.right.ended : outcome.left._tag,
    ...(E.isRight(outcome) ? { credits: outcome.right.charged, inputTokens: outcome.right.usage.inputTokens, outputTokens: outcome.right.usage.outputTokens } : {}),
  });

const messageHead = (req: KeyedRequest) => ({ id: req.requestId, type: 'message', role: 'assistant', model: req.model });

const streamAnswer = async (app: App, caller: Caller, req: KeyedRequest, request: Request, h: ResponseToolkit) => {
  const controller = abortOnDisconnect(request);
  const started = await startCompletion((sink) => runAs(app, caller, req, sink, controller.signal));
  if (started.endedFirst !== undefined && E.isLeft(started.endedFirst)) {
    logOutcome(app, caller, request, req, true, started.endedFirst);
    return sendError(h, anthropicError(classifyCompletion(started.endedFirst.left)));
  }
  const delta = (text: string) => event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } });
  const { sse, result } = startSse(request, h, { 'request-id': req.requestId });
  sse.send(event('message_start', { type: 'message_start', message: { ...messageHead(req), content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } } }));
  sse.send(event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
  sse.send(event('ping', { type: 'ping' }));
  for (const text of started.early) sse.send(delta(text));
  started.follow((text) => sse.send(delta(text)));
  void started.done.then((outcome) => {
    logOutcome(app, caller, request, req, true, outcome);
    if (E.isLeft(outcome)) sse.send(event('error', anthropicStreamError(classifyCompletion(outcome.left))));
    else {
      const done = outcome.right;
      sse.send(event('content_block_stop', { type: 'content_block_stop', index: 0 }));
      sse.send(
        event('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: stopReason(done, req.maxTokens ?? Number.MAX_SAFE_INTEGER), stop_sequence: null },
          usage: { input_tokens: done.usage.inputTokens, output_tokens: done.usage.outputTokens },
        }),
      );
      sse.send(event('message_stop', { type: 'message_stop' }));
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
  if (E.isLeft(outcome)) return sendError(h, anthropicError(classifyCompletion(outcome.left)));
  const done = outcome.right;
  return h
    .response({
      ...messageHead(req),
      content: [{ type: 'text', text: parts.join('') }],
      stop_reason: stopReason(done, req.maxTokens ?? Number.MAX_SAFE_INTEGER),
      stop_sequence: null,
      usage: { input_tokens: done.usage.inputTokens, output_tokens: done.usage.outputTokens },
    })
    .header('request-id', req.requestId)
    .header('x-credits-charged', String(done.charged))
    .header('x-credits-balance', String(done.balance));
};

export const anthropicRoutes = (app: App, auth: CallerAuth): ServerRoute[] => [
  {
    method: 'POST',
    path: '/v1/messages',
    options: {
      auth: false,
      id: 'anthropicMessages',
      payload: { parse: true, allow: 'application/json', failAction: payloadFailAction(dialect) },
      handler: async (request, h) => {
        const caller = await callerOf(auth, request, dialect);
        if (E.isLeft(caller)) return sendError(h, caller.left);
        const body = decodeBody(AnthropicMessagesBody, request.payload, dialect);
        if (E.isLeft(body)) return sendError(h, body.left);
        const req = requestOf(app, body.right);
        return body.right.stream === true ? streamAnswer(app, caller.right, req, request, h) : wholeAnswer(app, caller.right, req, request, h);
      },
    },
  },
];
