import * as t from 'io-ts';

/**
 * The request bodies of the compatible APIs, decoded at the edge. Only what
 * the gateway can meter is accepted: text messages, one choice, a token cap
 * and a temperature. Unknown fields are ignored (clients send many), but a
 * field we cannot honour (tools, images, n > 1) is refused, never dropped.
 */
const nullable = <C extends t.Mixed>(codec: C) => t.union([codec, t.null]);
const boundedText = (max: number) => t.refinement(t.string, (s) => s.length <= max, `string(<=${max})`);
const TextPart = t.type({ type: t.literal('text'), text: boundedText(1_000_000) });
const Content = t.union([boundedText(1_000_000), t.array(TextPart)]);
const Count = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 1 && n <= 1_000_000, 'positive integer');
const Temperature = t.refinement(t.number, (n) => Number.isFinite(n) && n >= 0 && n <= 2, 'temperature 0..2');
export const messagesMax = 1000;
const Messages = <C extends t.Mixed>(message: C) => t.refinement(t.array(message), (m) => m.length >= 1 && m.length <= messagesMax, `1..${messagesMax} messages`);
const ModelName = t.refinement(t.string, (s) => s.length >= 1 && s.length <= 200, 'model');

export const OpenAiChatBody = t.intersection([
  t.type({
    model: ModelName,
    messages: Messages(t.type({ role: t.keyof({ system: null, developer: null, user: null, assistant: null }), content: Content })),
  }),
  t.partial({
    stream: nullable(t.boolean),
    stream_options: nullable(t.partial({ include_usage: t.boolean })),
    max_tokens: nullable(Count),
    max_completion_tokens: nullable(Count),
    temperature: nullable(Temperature),
    n: nullable(t.literal(1)),
    tools: t.undefined,
    functions: t.undefined,
  }),
]);
export type OpenAiChatBody = t.TypeOf<typeof OpenAiChatBody>;

const SystemBlocks = t.union([boundedText(1_000_000), t.array(TextPart)]);

export const AnthropicMessagesBody = t.intersection([
  t.type({
    model: ModelName,
    max_tokens: Count,
    messages: Messages(t.type({ role: t.keyof({ user: null, assistant: null }), content: Content })),
  }),
  t.partial({
    system: SystemBlocks,
    stream: t.boolean,
    temperature: t.refinement(t.number, (n) => Number.isFinite(n) && n >= 0 && n <= 1, 'temperature 0..1'),
    tools: t.undefined,
  }),
]);
export type AnthropicMessagesBody = t.TypeOf<typeof AnthropicMessagesBody>;
