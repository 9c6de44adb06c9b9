import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { GatewayError, Settled } from '../../application/gateway/errors.js';
import type { Usage } from '../../application/ports/llmProvider.js';

/**
 * The WebSocket wire protocol (docs/protocol.md): JSON text frames, decoded
 * with io-ts at the edge, and the server frames built as strings once, so a
 * frame kept for `resume` is byte for byte the frame that was sent.
 *
 * Every field has a bound. Unknown extra fields are ignored (a newer client
 * may send more); known fields of the wrong type or outside their bounds make
 * the frame INVALID_REQUEST.
 */

export const FRAME_LIMITS = {
  idMaxLength: 128,
  modelMaxLength: 128,
  messagesMax: 256,
  contentMaxChars: 1_000_000,
  maxTokensMax: 1_000_000,
  temperatureMax: 2,
  seqMax: Number.MAX_SAFE_INTEGER,
} as const;

const ID_PATTERN = /^[A-Za-z0-9._:@-]+$/;

interface RequestIdBrand {
  readonly RequestId: unique symbol;
}
/** 1..128 characters of [A-Za-z0-9._:@-]: safe to log, to echo and to use as a map key. */
export const RequestId = t.brand(
  t.string,
  (s): s is t.Branded<string, RequestIdBrand> => s.length >= 1 && s.length <= FRAME_LIMITS.idMaxLength && ID_PATTERN.test(s),
  'RequestId',
);
export type RequestId = t.TypeOf<typeof RequestId>;

const boundedString = (name: string, min: number, max: number) =>
  new t.Type<string, string, unknown>(
    name,
    (u): u is string => typeof u === 'string',
    (u, c) => (typeof u === 'string' && u.length >= min && u.length <= max ? t.success(u) : t.failure(u, c)),
    t.identity,
  );

const intIn = (name: string, min: number, max: number) =>
  new t.Type<number, number, unknown>(
    name,
    (u): u is number => typeof u === 'number',
    (u, c) => (typeof u === 'number' && Number.isSafeInteger(u) && u >= min && u <= max ? t.success(u) : t.failure(u, c)),
    t.identity,
  );

const Temperature = new t.Type<number, number, unknown>(
  `number 0..${FRAME_LIMITS.temperatureMax}`,
  (u): u is number => typeof u === 'number',
  (u, c) => (typeof u === 'number' && Number.isFinite(u) && u >= 0 && u <= FRAME_LIMITS.temperatureMax ? t.success(u) : t.failure(u, c)),
  t.identity,
);

const Message = t.type({
  role: t.keyof({ system: null, user: null, assistant: null }),
  content: boundedString(`string of at most ${FRAME_LIMITS.contentMaxChars} characters`, 0, FRAME_LIMITS.contentMaxChars),
});

const Messages = new t.Type<t.TypeOf<typeof Message>[], unknown, unknown>(
  `array of 1..${FRAME_LIMITS.messagesMax} messages`,
  (u): u is t.TypeOf<typeof Message>[] => Array.isArray(u),
  (u, c) =>
    Array.isArray(u) && u.length >= 1 && u.length <= FRAME_LIMITS.messagesMax ? t.array(Message).validate(u, c) : t.failure(u, c),
  t.identity,
);

export const CompletionFrame = t.intersection([
  t.type({
    id: RequestId,
    type: t.keyof({ completion: null, chat: null }),
    model: boundedString(`string of 1..${FRAME_LIMITS.modelMaxLength} characters`, 1, FRAME_LIMITS.modelMaxLength),
    messages: Messages,
    stream: t.boolean,
  }),
  t.partial({
    provider: t.keyof({ openai: null, claude: null, auto: null }),
    maxTokens: intIn(`integer 1..${FRAME_LIMITS.maxTokensMax}`, 1, FRAME_LIMITS.maxTokensMax),
    temperature: Temperature,
    /** W3C trace context of the caller (version 00); an unparsable one is ignored. */
    traceparent: boundedString('string of at most 55 characters', 0, 55),
    tracestate: boundedString('string of at most 512 characters', 0, 512),
  }),
]);
export type CompletionFrame = t.TypeOf<typeof CompletionFrame>;

export const CancelFrame = t.type({ id: RequestId, type: t.literal('cancel') });
export type CancelFrame = t.TypeOf<typeof CancelFrame>;

export const ResumeFrame = t.type({ id: RequestId, type: t.literal('resume'), after: intIn('integer >= 0', 0, FRAME_LIMITS.seqMax) });
export type ResumeFrame = t.TypeOf<typeof ResumeFrame>;

export type ClientFrame = CompletionFrame | CancelFrame | ResumeFrame;

export type ErrorCode =
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'INVALID_REQUEST'
  | 'INSUFFICIENT_CREDITS'
  | 'RATE_LIMIT_EXCEEDED'
  | 'PROVIDER_ERROR'
  | 'PROVIDER_UNAVAILABLE'
  | 'SERVICE_UNAVAILABLE'
  | 'RESUME_UNAVAILABLE'
  | 'INTERNAL';

/** The `error` member of an error frame: code, message, retryable, and code-specific details. */
export type WireError = { readonly code: ErrorCode; readonly message: string; readonly retryable: boolean } & Readonly<Record<string, unknown>>;

export type FrameProblem = { readonly id: RequestId | null; readonly error: WireError };

const invalid = (id: RequestId | null, message: string): E.Either<FrameProblem, ClientFrame> =>
  E.left({ id, error: { code: 'INVALID_REQUEST', message, retryable: false } });

/** "messages.0.role: expected system | user | assistant" from io-ts's first error. */
export const describeErrors = (errors: t.Errors): string => {
  const first = errors[0];
  if (first === undefined) return 'invalid frame';
  // Keys under an intersection or union name its members ("0", "1"), not a field: leave them out.
  const path = first.context
    .filter((entry, i) => {
      const parent = first.context[i - 1]?.type as { readonly _tag?: string } | undefined;
      return entry.key !== '' && parent?._tag !== 'IntersectionType' && parent?._tag !== 'UnionType';
    })
    .map((entry) => entry.key)
    .join('.');
  const leaf = first.context[first.context.length - 1];
  const expected = leaf?.type.name ?? 'a valid value';
  return `${path === '' ? 'frame' : path}: expected ${expected}`;
};

const codecFor = { completion: CompletionFrame, chat: CompletionFrame, cancel: CancelFrame, resume: ResumeFrame } as const;

/**
 * Decodes one text frame. The id is echoed in the error when it is a valid
 * id, so a client can tell which of its requests was refused.
 */
export const decodeClientFrame = (text: string): E.Either<FrameProblem, ClientFrame> => {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return invalid(null, 'frame is not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return invalid(null, 'frame must be a JSON object');
  const record = raw as Record<string, unknown>;
  const id = RequestId.is(record['id']) ? record['id'] : null;
  if (id === null) return invalid(null, `id: expected 1..${FRAME_LIMITS.idMaxLength} characters of [A-Za-z0-9._:@-]`);
  const type = record['type'];
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(codecFor, type)) {
    return invalid(id, 'type: expected completion | chat | cancel | resume');
  }
  const decoded = codecFor[type as keyof typeof codecFor].decode(raw);
  return E.isLeft(decoded) ? invalid(id, describeErrors(decoded.left)) : E.right(decoded.right);
};

// Server frames, serialized once.

export const chunkFrame = (id: string, seq: number, data: string): string => JSON.stringify({ id, type: 'chunk', seq, data });

export type DoneInfo = {
  readonly provider: string;
  readonly model: string;
  readonly usage: Usage;
  /** `stopped` when cancel, a disconnect or shutdown ended the stream early. */
  readonly ended: 'completed' | 'stopped';
  /** Set when the gateway itself stopped the stream (its hold could not be kept, or STREAM_MAX_MS). */
  readonly stopReason?: string;
  readonly credits: Settled;
  /** Where the settlement is in the Merkle log (docs/audit.md). */
  readonly receipt?: { readonly position: number; readonly leafHash: string } | undefined;
};

export const doneFrame = (id: string, info: DoneInfo): string =>
  JSON.stringify({
    id,
    type: 'done',
    provider: info.provider,
    model: info.model,
    ended: info.ended,
    ...(info.stopReason === undefined ? {} : { stopReason: info.stopReason }),
    usage: { inputTokens: info.usage.inputTokens, outputTokens: info.usage.outputTokens, totalTokens: info.usage.inputTokens + info.usage.outputTokens },
    credits: { charged: info.credits.charged, balance: info.credits.balance, available: info.credits.available, ...(info.credits.pending === true ? { pending: true } : {}) },
    ...(info.receipt === undefined ? {} : { receipt: info.receipt }),
  });

export const errorFrame = (id: string | null, error: WireError): string => JSON.stringify({ id, type: 'error', error });

export const wireError = (code: ErrorCode, message: string, retryable: boolean, details: Readonly<Record<string, unknown>> = {}): WireError => ({
  ...details,
  code,
  message,
  retryable,
});

/** The one place where the application's refusals become wire codes. */
export const toWireError = (e: GatewayError): WireError => {
  switch (e._tag) {
    case 'InvalidRequest':
      return wireError('INVALID_REQUEST', e.message, false);
    case 'Forbidden':
      return wireError('FORBIDDEN', `not allowed to ${e.action}`, false, { action: e.action });
    case 'RateLimited':
      return wireError('RATE_LIMIT_EXCEEDED', `too many ${e.limit} per minute`, e.retryable, { limit: e.limit, retryAfterMs: e.retryAfterMs });
    case 'LimiterUnavailable':
      return wireError('SERVICE_UNAVAILABLE', 'rate limiter unavailable; try again shortly', true);
    case 'InsufficientCredits':
      return wireError('INSUFFICIENT_CREDITS', `this request needs a hold of ${e.needed} credits; ${e.available} available`, false, {
        needed: e.needed,
        available: e.available,
      });
    case 'ProviderError':
    case 'ProviderUnavailable': {
      const credits = e.settled === undefined ? {} : { credits: { charged: e.settled.charged, balance: e.settled.balance, available: e.settled.available } };
      return wireError(e._tag === 'ProviderError' ? 'PROVIDER_ERROR' : 'PROVIDER_UNAVAILABLE', e.message, e.retryable, credits);
    }
    default:
      return absurd(e);
  }
};

const absurd = (e: never): never => {
  throw new Error(`unmapped gateway error ${JSON.stringify(e)}`);
};
