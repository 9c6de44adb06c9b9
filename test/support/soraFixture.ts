import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local server speaking the OpenAI videos API as the `openai` SDK uses it:
 * POST /v1/videos (multipart form: model, prompt, seconds, size), GET
 * /v1/videos (the list, newest first), GET /v1/videos/{id} and GET
 * /v1/videos/{id}/content. `loseNextCreateAnswer` creates the next job and
 * then drops the connection without answering, as a timeout would. Each job follows a script
 * of statuses, one step per GET (the last one repeats); faults answer a
 * request with an error status in OpenAI's error format. Every request is
 * recorded, so a test can prove that no job was created.
 */
export type SoraStatus = 'queued' | 'in_progress' | 'completed' | 'failed';

export type SoraScript = {
  readonly statuses: readonly SoraStatus[];
  readonly error?: { readonly code: string; readonly message: string };
  /** Seconds the job reports; default the requested ones. */
  readonly seconds?: string;
};

export type SoraFault = { readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly message?: string };

export type SoraRequest = { readonly method: string; readonly path: string; readonly fields?: Readonly<Record<string, string>>; readonly authorization?: string };

export type SoraFixture = {
  /** The SDK's baseURL (…/v1). */
  readonly baseURL: string;
  readonly apiKey: string;
  /** Scripts for the next created jobs, in order; jobs beyond them use the default (queued, in_progress, completed). */
  readonly script: (...scripts: SoraScript[]) => void;
  /** The next request whose method and path start match answers with this fault. */
  readonly faultNext: (method: string, pathPrefix: string, fault: SoraFault) => void;
  /** The next POST /v1/videos creates its job, then the connection drops before the answer. */
  readonly loseNextCreateAnswer: () => void;
  readonly requests: () => readonly SoraRequest[];
  readonly creates: () => number;
  readonly contentOf: (id: string) => Uint8Array;
  readonly close: () => Promise<void>;
};

type Job = { id: string; model: string; prompt: string; seconds: string; size: string; createdAt: number; script: SoraScript; polls: number };

const sizesByModel: Readonly<Record<string, readonly string[]>> = {
  'sora-2': ['720x1280', '1280x720'],
  'sora-2-pro': ['720x1280', '1280x720', '1024x1792', '1792x1024'],
};
const defaultScript: SoraScript = { statuses: ['queued', 'in_progress', 'completed'] };

const send = (res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const apiError = (res: ServerResponse, status: number, message: string, code: string | null = null, headers: Readonly<Record<string, string>> = {}) =>
  send(res, status, { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code } }, headers);

const readForm = async (req: IncomingMessage): Promise<Record<string, string>> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
  const form = await new Request('http://fixture/v1/videos', { method: 'POST', headers, body: Buffer.concat(chunks) }).formData();
  const fields: Record<string, string> = {};
  form.forEach((value, key) => {
    if (typeof value === 'string') fields[key] = value;
  });
  return fields;
};

export const startSoraFixture = async (options: { readonly apiKey?: string } = {}): Promise<SoraFixture> => {
  const apiKey = options.apiKey ?? 'sk-sora-fixture';
  const jobs = new Map<string, Job>();
  const scripts: SoraScript[] = [];
  const faults: { method: string; pathPrefix: string; fault: SoraFault }[] = [];
  const log: SoraRequest[] = [];
  let counter = 0;
  let loseCreateAnswer = false;

  const contentOf = (id: string) => new TextEncoder().encode(`\u0000\u0000\u0000\u0018ftypisom fixture video ${id}`);

  const videoObject = (job: Job) => {
    const status = job.script.statuses[Math.min(job.polls, job.script.statuses.length - 1)] ?? 'queued';
    const done = status === 'completed' || status === 'failed';
    return {
      id: job.id,
      object: 'video',
      created_at: job.createdAt,
      completed_at: done ? job.createdAt + 30 : null,
      expires_at: null,
      error: status === 'failed' ? (job.script.error ?? { code: 'generation_failed', message: 'The video could not be generated.' }) : null,
      model: job.model,
      progress: status === 'completed' ? 100 : status === 'in_progress' ? 40 : 0,
      prompt: job.prompt,
      remixed_from_video_id: null,
      seconds: job.script.seconds ?? job.seconds,
      size: job.size,
      status,
    };
  };

  const create = async (req: IncomingMessage, res: ServerResponse, entry: { fields?: Record<string, string> }) => {
    const fields = await readForm(req);
    entry.fields = fields;
    const model = fields['model'] ?? 'sora-2';
    const seconds = fields['seconds'] ?? '4';
    const size = fields['size'] ?? '720x1280';
    const prompt = fields['prompt'] ?? '';
    if (prompt.length === 0) return apiError(res, 400, 'prompt is required', 'missing_required_parameter');
    if (!['4', '8', '12'].includes(seconds)) return apiError(res, 400, `Invalid value: '${seconds}'. Supported values are: '4', '8', and '12'.`, 'invalid_value');
    if (!(sizesByModel[model] ?? []).includes(size)) return apiError(res, 400, `Invalid size ${size} for model ${model}.`, 'invalid_value');
    const job: Job = { id: `video_${(++counter).toString().padStart(6, '0')}`, model, prompt, seconds, size, createdAt: Math.floor(Date.now() / 1000), script: scripts.shift() ?? defaultScript, polls: 0 };
    jobs.set(job.id, job);
    if (loseCreateAnswer) {
      loseCreateAnswer = false;
      res.socket?.destroy();
      return;
    }
    send(res, 200, videoObject(job));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://fixture').pathname;
    const method = req.method ?? 'GET';
    const entry: { method: string; path: string; fields?: Record<string, string>; authorization?: string } = { method, path, ...(req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization }) };
    log.push(entry);
    if (req.headers.authorization !== `Bearer ${apiKey}`) return apiError(res, 401, 'Incorrect API key provided.', 'invalid_api_key');
    const faultAt = faults.findIndex((f) => f.method === method && path.startsWith(f.pathPrefix));
    if (faultAt >= 0) {
      const fault = faults.splice(faultAt, 1)[0]?.fault ?? { status: 500 };
      for await (const chunk of req) void chunk;
      return apiError(res, fault.status, fault.message ?? `fixture fault ${fault.status}`, null, fault.headers ?? {});
    }
    if (method === 'POST' && path === '/v1/videos') return create(req, res, entry);
    if (method === 'GET' && path === '/v1/videos') {
      const limit = Math.min(Math.max(Number(new URL(req.url ?? '/', 'http://fixture').searchParams.get('limit') ?? 20) || 20, 1), 100);
      const data = [...jobs.values()].reverse().slice(0, limit).map(videoObject);
      return send(res, 200, { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: jobs.size > data.length });
    }
    const match = /^\/v1\/videos\/([^/]+)(\/content)?$/.exec(path);
    const job = match?.[1] === undefined ? undefined : jobs.get(match[1]);
    if (method !== 'GET' || match === null) return apiError(res, 404, 'Not found', 'not_found');
    if (job === undefined) return apiError(res, 404, `Video with id '${match[1] ?? ''}' not found.`, 'not_found');
    if (match[2] === undefined) {
      const body = videoObject(job);
      job.polls += 1;
      return send(res, 200, body);
    }
    if (videoObject(job).status !== 'completed') return apiError(res, 404, 'Video is not ready yet.', 'video_not_ready');
    const bytes = contentOf(job.id);
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(bytes.length) });
    res.end(bytes);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => apiError(res, 500, String(error)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    apiKey,
    script: (...next) => {
      scripts.push(...next);
    },
    faultNext: (method, pathPrefix, fault) => {
      faults.push({ method, pathPrefix, fault });
    },
    loseNextCreateAnswer: () => {
      loseCreateAnswer = true;
    },
    requests: () => [...log],
    creates: () => log.filter((r) => r.method === 'POST' && r.path === '/v1/videos').length,
    contentOf,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
