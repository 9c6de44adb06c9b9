import * as t from 'io-ts';
import { promptMaxLength } from '../../../application/video/videoJobs.js';
import type { JsonSchema } from '../schema.js';
import { boundedString, described, intFromString } from '../schema.js';

/** Request and response shapes of the Sora 2 routes, with their JSON Schemas for the OpenAPI document. */

export const VerificationCode = boundedString(
  'VerificationCode',
  64,
  /^[A-Za-z0-9_-]+$/,
  'The verification code from POST /api/sora2/auth/start (single use, valid 15 minutes).',
);

export const CodeQuery = t.type({ code: VerificationCode });

export const JobId = boundedString('JobId', 100, /^[A-Za-z0-9_-]+$/, 'The jobId returned by POST /api/sora2/generate.');
export const JobParams = t.type({ id: JobId });

export const JobsQuery = t.partial({
  limit: intFromString('limit', 1, 100, 'Page size, 1 to 100 (default 20).'),
  offset: intFromString('offset', 0, 100_000, 'Jobs to skip, newest first (default 0).'),
});

/** Same rule as deduct's: 1 to 200 printable ASCII characters. */
export const GenerateIdempotencyKey = boundedString('IdempotencyKey', 200, /^[\x21-\x7e]+$/, 'Unique per logical video (a UUID is ideal). A retry with the same key never takes a second hold or starts a second job.');

const Prompt = described(
  new t.Type<string, string, unknown>(
    'Prompt',
    (u): u is string => typeof u === 'string',
    (u, c) =>
      typeof u === 'string' && u.trim().length > 0 && u.length <= promptMaxLength
        ? t.success(u)
        : t.failure(u, c, `must be 1 to ${promptMaxLength} characters`),
    t.identity,
  ),
  { type: 'string', minLength: 1, maxLength: promptMaxLength, description: 'What the video shows.' },
);

const Duration = described(
  new t.Type<number, number, unknown>(
    'Duration',
    (u): u is number => typeof u === 'number',
    (u, c) => (typeof u === 'number' && Number.isSafeInteger(u) && u > 0 && u <= 60 ? t.success(u) : t.failure(u, c, 'must be a whole number of seconds')),
    t.identity,
  ),
  { type: 'integer', enum: [4, 8, 12], description: 'Length in seconds: 4, 8 or 12 (what Sora 2 offers).' },
);

const Resolution = described(
  new t.Type<string, string, unknown>(
    'Resolution',
    (u): u is string => typeof u === 'string',
    (u, c) => (typeof u === 'string' && u.length > 0 && u.length <= 32 ? t.success(u) : t.failure(u, c, 'must be a resolution such as 1280x720 or 720p')),
    t.identity,
  ),
  {
    type: 'string',
    maxLength: 32,
    description:
      'Width x height: 1280x720 (landscape) or 720x1280 (portrait); sora-2-pro also 1792x1024 and 1024x1792. Short names 720p, 720p-portrait, 1024p, 1024p-portrait.',
    examples: ['1280x720', '720x1280', '720p'],
  },
);

const Model = described(t.keyof({ 'sora-2': null, 'sora-2-pro': null }), { description: 'Video model; default sora-2.' });

export const GenerateBody = t.intersection([
  t.type({ prompt: Prompt, duration: Duration, resolution: Resolution }),
  t.partial({ model: Model, idempotencyKey: GenerateIdempotencyKey }),
]);

/** The signed part of a download link (contentLinks.ts). */
export const DownloadQuery = t.partial({
  user: boundedString('User', 200, /^[\x21-\x7e]+$/, 'The owner the link was signed for.'),
  expires: boundedString('Expires', 12, /^\d+$/, 'When the link expires, seconds since the epoch.'),
  signature: boundedString('Signature', 64, /^[A-Za-z0-9_-]+$/, 'The link\'s signature.'),
});
export type GenerateBody = t.TypeOf<typeof GenerateBody>;

const string = (description: string): JsonSchema => ({ type: 'string', description });
const integer = (description: string): JsonSchema => ({ type: 'integer', description });
const instant = (description: string): JsonSchema => ({ type: 'string', format: 'date-time', description });

export const startResponseSchema: JsonSchema = {
  type: 'object',
  required: ['code', 'signInUrl', 'expiresAt'],
  properties: {
    code: string('Verification code; keep it, it is exchanged for a session token after sign-in.'),
    signInUrl: string('Show this link to the user: it opens Google sign-in.'),
    expiresAt: instant('When the code stops working (15 minutes).'),
    instructions: string('What to tell the user.'),
  },
};

export const sessionResponseSchema: JsonSchema = {
  type: 'object',
  required: ['sessionToken', 'expiresAt', 'tokenType'],
  properties: {
    sessionToken: string('Send as Authorization: Bearer <sessionToken> to the Sora 2 routes.'),
    expiresAt: instant('When the session ends (24 hours).'),
    tokenType: { const: 'Bearer' },
  },
};

export const jobSchema: JsonSchema = {
  type: 'object',
  required: ['jobId', 'status', 'progress', 'model', 'seconds', 'resolution', 'heldCredits', 'createdAt'],
  properties: {
    jobId: string('Id of the job.'),
    status: { type: 'string', enum: ['queued', 'in_progress', 'completed', 'failed', 'cancelled'] },
    progress: integer('0..100.'),
    model: string('Video model.'),
    seconds: integer('Length in seconds.'),
    resolution: string('Width x height.'),
    heldCredits: integer('Credits put on hold for this job when it was created.'),
    chargedCredits: integer('Credits charged once the job ended (0 when it failed).'),
    createdAt: instant('When the job was created.'),
    endedAt: instant('When the job ended.'),
    error: string('Why the job failed.'),
    contentUrl: string('Where to download the video once completed.'),
  },
};
