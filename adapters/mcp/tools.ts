import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as E from 'fp-ts/lib/Either.js';
import { z } from 'zod';
import { history } from '../../application/credits/queries.js';
import type { CompletionDone } from '../../application/gateway/meteredCompletion.js';
import type { GatewayError } from '../../application/gateway/errors.js';
import type { VideoJobs } from '../../application/video/videoJobs.js';
import type { App } from '../app.js';
import type { Idempotency, Outcome } from '../http/idempotency.js';
import { summarizeUsage } from './usageSummary.js';

/**
 * The tools an agent sees at /mcp. Every tool acts for the authenticated
 * caller only (there is no user id argument to forge), and every tool that
 * spends takes an idempotency key, so an agent that re-issues a call after a
 * timeout is answered with the first outcome instead of being charged twice.
 *
 * Errors are MCP tool errors (`isError: true` with a short text), never stack
 * traces: a model reads them and should be able to act on them.
 */
export type McpCaller = {
  readonly userId: string;
  /** Scopes granted to the token, or undefined for a first-party token that carries none. */
  readonly scopes: readonly string[] | undefined;
};

export type ToolDeps = {
  readonly app: App;
  readonly idempotency: Idempotency;
  readonly videoJobs: () => VideoJobs | undefined;
};

const MAX_MESSAGES = 200;
const MAX_CONTENT_CHARS = 200_000;

const text = (value: unknown): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value) }],
  structuredContent: value as Record<string, unknown>,
});
const toolError = (message: string): CallToolResult => ({ content: [{ type: 'text', text: message }], isError: true });

/** A scope a token lacks refuses the tool; a token with no scope claim is first-party and judged by permissions alone. */
const lacks = (caller: McpCaller, scope: string) => caller.scopes !== undefined && !caller.scopes.includes(scope);
const scopeError = (scope: string) => toolError(`This token was not granted the "${scope}" scope.`);

const gatewayErrorText = (error: GatewayError): string => {
  switch (error._tag) {
    case 'InsufficientCredits':
      return `Insufficient credits: this request needs ${error.needed} and ${error.available} are available.`;
    case 'RateLimited':
      return `Rate limit exceeded (${error.limit}); retry in ${Math.ceil(error.retryAfterMs / 1000)} s.`;
    case 'Forbidden':
      return `Not permitted: ${error.action}.`;
    case 'InvalidRequest':
      return `Invalid request: ${error.message}`;
    case 'LimiterUnavailable':
      return 'The rate limiter is unavailable; retry shortly.';
    default:
      return `${error._tag === 'ProviderUnavailable' ? 'Provider unavailable' : 'Provider error'}: ${error.message}`;
  }
};

const problemText = (thrown: unknown): string => {
  const boom = thrown as { isBoom?: boolean; output?: { payload?: { detail?: string; title?: string } } };
  if (boom.isBoom === true) return boom.output?.payload?.detail ?? boom.output?.payload?.title ?? 'request refused';
  return 'The ledger is unavailable; retry shortly.';
};

const Message = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string().max(MAX_CONTENT_CHARS) });
const IdempotencyKey = z.string().min(1).max(200).describe('Caller-chosen key; repeating a call with the same key returns the first result and is never charged twice.');

/** Reads the idempotency key from the arguments, or from `_meta.idempotencyKey`. */
const keyOf = (args: { idempotencyKey?: string | undefined }, meta: Record<string, unknown> | undefined): string | undefined =>
  args.idempotencyKey ?? (typeof meta?.['idempotencyKey'] === 'string' ? (meta['idempotencyKey'] as string) : undefined);

const chatOutcome = (done: CompletionDone): Outcome => ({
  status: 200,
  final: true,
  body: {
    provider: done.provider,
    model: done.model,
    ended: done.ended,
    usage: { inputTokens: done.usage.inputTokens, outputTokens: done.usage.outputTokens },
    credits: { charged: done.charged, balance: done.balance, available: done.available },
    reservationId: done.reservationId,
  },
});

export const registerTools = (server: McpServer, caller: McpCaller, deps: ToolDeps): void => {
  const { app } = deps;

  server.registerTool(
    'credits_balance',
    { title: 'Credit balance', description: 'Your credit balance, the credits held by running requests, and what is available to spend.', annotations: { readOnlyHint: true } },
    async () => {
      if (lacks(caller, 'credits:read')) return scopeError('credits:read');
      const view = await app.ledger.balance(caller.userId);
      return text({ userId: caller.userId, balance: view.balance, held: view.held, available: view.available });
    },
  );

  server.registerTool(
    'credits_history',
    {
      title: 'Credit history',
      description: 'Your ledger history, oldest first, one page at a time.',
      inputSchema: { fromRevision: z.number().int().min(0).optional(), limit: z.number().int().min(1).max(100).optional() },
      annotations: { readOnlyHint: true },
    },
    async ({ fromRevision, limit }) => {
      if (lacks(caller, 'credits:read')) return scopeError('credits:read');
      const page = await history(app.store, caller.userId, { fromRevision: fromRevision ?? 0, limit: limit ?? 20 });
      return text({ items: page.items, nextFromRevision: page.nextFromRevision ?? null });
    },
  );

  server.registerTool(
    'usage_summary',
    {
      title: 'Usage summary',
      description: 'What you spent, by service and model, between two instants (ISO 8601; default the last 30 days).',
      inputSchema: { from: z.iso.datetime().optional(), to: z.iso.datetime().optional() },
      annotations: { readOnlyHint: true },
    },
    async ({ from, to }) => {
      if (lacks(caller, 'credits:read')) return scopeError('credits:read');
      const toMs = to === undefined ? app.clock.now() : Date.parse(to);
      const fromMs = from === undefined ? toMs - 30 * 24 * 3600 * 1000 : Date.parse(from);
      if (fromMs > toMs) return toolError('"from" must not be after "to".');
      return text(await summarizeUsage(app.store, caller.userId, fromMs, toMs));
    },
  );

  server.registerTool(
    'chat',
    {
      title: 'Chat completion (metered)',
      description: 'Runs a chat completion and charges your credits for what the model produced. Text arrives as progress notifications when the call carries a progressToken.',
      inputSchema: {
        model: z.string().min(1).max(100),
        messages: z.array(Message).min(1).max(MAX_MESSAGES),
        provider: z.enum(['openai', 'claude', 'auto']).optional(),
        maxTokens: z.number().int().min(1).optional(),
        temperature: z.number().min(0).max(2).optional(),
        idempotencyKey: IdempotencyKey.optional(),
      },
    },
    async (args, extra) => {
      if (lacks(caller, 'llm:use')) return scopeError('llm:use');
      const key = keyOf(args, extra._meta as Record<string, unknown> | undefined) ?? app.ids.newId();
      const progressToken = extra._meta?.progressToken;
      const pieces: string[] = [];
      let sent = 0;
      const execute = async (): Promise<Outcome> => {
        const outcome = await app.completion.run(
          {
            requestId: `mcp-${key}`,
            userId: caller.userId,
            preference: args.provider ?? 'auto',
            model: args.model,
            messages: args.messages,
            ...(args.maxTokens === undefined ? {} : { maxTokens: args.maxTokens }),
            ...(args.temperature === undefined ? {} : { temperature: args.temperature }),
          },
          {
            chunk: (piece) => {
              pieces.push(piece);
              if (progressToken === undefined) return;
              sent += 1;
              void extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: sent, message: piece } }).catch(() => undefined);
            },
          },
          extra.signal,
        );
        if (E.isLeft(outcome)) return { status: 400, final: outcome.left._tag !== 'ProviderUnavailable' && outcome.left._tag !== 'LimiterUnavailable', body: { error: gatewayErrorText(outcome.left) } };
        return { ...chatOutcome(outcome.right), body: { ...(chatOutcome(outcome.right).body as Record<string, unknown>), text: pieces.join('') } };
      };
      try {
        const result = await deps.idempotency.run({ scope: 'mcp-chat', callerId: caller.userId, key, request: { ...args, idempotencyKey: undefined } }, execute);
        const body = result.body as Record<string, unknown>;
        if (typeof body['error'] === 'string') return toolError(body['error']);
        return text({ ...body, replayed: result.replayed });
      } catch (thrown) {
        return toolError(problemText(thrown));
      }
    },
  );

  registerVideoTools(server, caller, deps);
};

const registerVideoTools = (server: McpServer, caller: McpCaller, deps: ToolDeps): void => {
  server.registerTool(
    'sora2_generate',
    {
      title: 'Generate a Sora 2 video (metered)',
      description: 'Starts a video job; its price is held from your credits now and charged when the video completes.',
      inputSchema: {
        prompt: z.string().min(1).max(4000),
        duration: z.union([z.literal(4), z.literal(8), z.literal(12)]).optional(),
        resolution: z.string().min(1).max(32).optional().describe('1280x720, 720x1280, 720p-portrait ... (default 720p)'),
        idempotencyKey: IdempotencyKey,
      },
    },
    async (args) => {
      if (lacks(caller, 'sora2:use')) return scopeError('sora2:use');
      const jobs = deps.videoJobs();
      if (jobs === undefined) return toolError('Video generation is not available on this server.');
      const execute = async (): Promise<Outcome> => {
        const started = await jobs.generate({ userId: caller.userId, prompt: args.prompt, duration: args.duration ?? 4, resolution: args.resolution ?? '720p' });
        if (E.isLeft(started)) return { status: 400, final: true, body: { error: `Video refused: ${started.left._tag}` } };
        return { status: 202, final: true, body: started.right as unknown as Outcome['body'] };
      };
      try {
        const result = await deps.idempotency.run({ scope: 'mcp-sora2', callerId: caller.userId, key: args.idempotencyKey, request: args }, execute);
        const body = result.body as Record<string, unknown>;
        if (typeof body['error'] === 'string') return toolError(body['error']);
        return text({ ...body, replayed: result.replayed });
      } catch (thrown) {
        return toolError(problemText(thrown));
      }
    },
  );

  server.registerTool(
    'sora2_job_status',
    { title: 'Video job status', description: 'The status of one of your video jobs, with what it held and charged.', inputSchema: { jobId: z.string().min(1).max(200) }, annotations: { readOnlyHint: true } },
    async ({ jobId }) => {
      if (lacks(caller, 'sora2:use')) return scopeError('sora2:use');
      const jobs = deps.videoJobs();
      if (jobs === undefined) return toolError('Video generation is not available on this server.');
      const status = await jobs.status(jobId, caller.userId);
      return E.isLeft(status) ? toolError(`No such job of yours: ${jobId}`) : text(status.right);
    },
  );
};
