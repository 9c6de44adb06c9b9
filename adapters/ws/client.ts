import { randomUUID } from 'node:crypto';
import type { ClientOptions } from 'ws';
import { WebSocket } from 'ws';

/**
 * A small typed client for the WebSocket gateway, for Node programs (and the
 * e2e tests). One socket carries many requests; when it drops, the client
 * reconnects with jittered exponential backoff and sends `resume` for every
 * request still running, with the last seq it saw, so the stream continues
 * where it stopped and the request is paid once. A request is never sent
 * twice: one that the server may already have received is only resumed.
 *
 *   const gw = await connectGateway({ url: 'ws://127.0.0.1:3003', token });
 *   const answer = gw.complete({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
 *   for await (const chunk of answer) process.stdout.write(chunk.data);
 *   const { credits } = await answer.done;
 */

export type CompletionInput = {
  readonly id?: string;
  readonly type?: 'completion' | 'chat';
  readonly provider?: 'openai' | 'claude' | 'auto';
  readonly model: string;
  readonly messages: readonly { readonly role: 'system' | 'user' | 'assistant'; readonly content: string }[];
  /** Default true; false = the whole answer arrives as one chunk before `done`. */
  readonly stream?: boolean;
  readonly maxTokens?: number;
  readonly temperature?: number;
};

export type ChunkEvent = { readonly seq: number; readonly data: string };

export type DoneEvent = {
  readonly provider: string;
  readonly model: string;
  readonly ended: 'completed' | 'stopped';
  /** When the gateway itself stopped the stream: `holdLost`, `holdNotExtended`, `streamMax` (docs/protocol.md). */
  readonly stopReason?: string;
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number; readonly totalTokens: number };
  /** `pending: true`: the settle is not written yet (the ledger's store is down); `charged` is what it will charge, once. */
  readonly credits: { readonly charged: number; readonly balance: number; readonly available: number; readonly pending?: true };
  /** Where the settlement sits in the ledger's Merkle log, to prove later (docs/audit.md). */
  readonly receipt?: { readonly position: number; readonly leafHash: string };
};

/** An error frame from the gateway, or a client-side failure (CONNECTION_LOST, CLIENT_CLOSED). */
export type GatewayClientError = Error & { readonly code: string; readonly retryable: boolean; readonly details: Readonly<Record<string, unknown>> };

export type Completion = AsyncIterable<ChunkEvent> & {
  readonly id: string;
  /** Resolves with the done frame; rejects with a GatewayClientError. */
  readonly done: Promise<DoneEvent>;
  /** Asks the server to stop; `done` then resolves with `ended: 'stopped'` and the charge for what was produced. */
  readonly cancel: () => void;
  /** The highest seq received. */
  readonly lastSeq: () => number;
};

export type ClientEvent =
  | { readonly type: 'reconnecting'; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  | { readonly type: 'connected'; readonly connections: number }
  | { readonly type: 'protocolError'; readonly error: GatewayClientError };

export type ConnectOptions = {
  readonly url: string;
  /** A fixed token, or `getToken` for a fresh one at every (re)connection. */
  readonly token?: string;
  readonly getToken?: () => string | Promise<string>;
  /** Backoff between reconnection attempts; false = never reconnect. maxAttempts counts consecutive failures. */
  readonly reconnect?: { readonly baseMs?: number; readonly maxMs?: number; readonly maxAttempts?: number } | false;
  readonly onEvent?: (event: ClientEvent) => void;
  /** Passed to `ws` (e.g. handshakeTimeout). */
  readonly socketOptions?: ClientOptions;
  /** For tests: the jitter source. */
  readonly random?: () => number;
};

export type GatewayClient = {
  readonly complete: (input: CompletionInput) => Completion;
  readonly close: () => Promise<void>;
  readonly connected: () => boolean;
  /** Successful connections so far (1 + reconnections). */
  readonly connections: () => number;
  /** The current socket, for tests that need to break it. */
  readonly socket: () => WebSocket | undefined;
};

/** "Equal jitter": half the exponential delay fixed, half random, so clients that lost the same server spread out. */
export const backoffDelayMs = (attempt: number, baseMs: number, maxMs: number, random: () => number): number => {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
};

export const clientError = (code: string, message: string, retryable: boolean, details: Readonly<Record<string, unknown>> = {}): GatewayClientError =>
  Object.assign(new Error(`${code}: ${message}`), { code, retryable, details });

type Pending = {
  readonly id: string;
  readonly frame: string;
  sent: boolean;
  cancelWanted: boolean;
  lastSeq: number;
  readonly queue: ChunkEvent[];
  readonly waiters: { resolve: (r: IteratorResult<ChunkEvent>) => void; reject: (e: unknown) => void }[];
  failure: GatewayClientError | undefined;
  finished: boolean;
  readonly resolveDone: (d: DoneEvent) => void;
  readonly rejectDone: (e: GatewayClientError) => void;
};

const statusOf = (error: Error): number | undefined => {
  const match = /Unexpected server response: (\d+)/.exec(error.message);
  return match?.[1] === undefined ? undefined : Number(match[1]);
};

export const connectGateway = async (options: ConnectOptions): Promise<GatewayClient> => {
  const reconnect = options.reconnect === false ? undefined : { baseMs: 100, maxMs: 5_000, maxAttempts: 10, ...options.reconnect };
  const random = options.random ?? Math.random;
  const pending = new Map<string, Pending>();
  let socket: WebSocket | undefined;
  let closedByUser = false;
  let connections = 0;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const token = async () => (options.getToken === undefined ? options.token ?? '' : options.getToken());

  const finish = (p: Pending, outcome: { done: DoneEvent } | { error: GatewayClientError }) => {
    if (p.finished) return;
    p.finished = true;
    pending.delete(p.id);
    if ('done' in outcome) p.resolveDone(outcome.done);
    else {
      p.failure = outcome.error;
      p.rejectDone(outcome.error);
    }
    for (const w of p.waiters.splice(0)) {
      if (p.failure === undefined) w.resolve({ value: undefined, done: true });
      else w.reject(p.failure);
    }
  };

  const failAll = (error: GatewayClientError) => {
    for (const p of [...pending.values()]) finish(p, { error });
  };

  const onFrame = (text: string) => {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    const p = typeof frame['id'] === 'string' ? pending.get(frame['id']) : undefined;
    if (frame['type'] === 'error') {
      const raw = (frame['error'] ?? {}) as Record<string, unknown>;
      const { code, message, retryable, ...details } = raw;
      const error = clientError(String(code), String(message), retryable === true, details);
      if (p === undefined) options.onEvent?.({ type: 'protocolError', error });
      else finish(p, { error });
      return;
    }
    if (p === undefined) return;
    if (frame['type'] === 'chunk' && typeof frame['seq'] === 'number' && typeof frame['data'] === 'string') {
      if (frame['seq'] <= p.lastSeq) return; // already seen before a reconnect
      p.lastSeq = frame['seq'];
      const chunk = { seq: frame['seq'], data: frame['data'] };
      const waiter = p.waiters.shift();
      if (waiter === undefined) p.queue.push(chunk);
      else waiter.resolve({ value: chunk, done: false });
    } else if (frame['type'] === 'done') {
      finish(p, { done: frame as unknown as DoneEvent });
    }
  };

  const sendPending = (ws: WebSocket, p: Pending) => {
    if (!p.sent) {
      ws.send(p.frame);
      p.sent = true;
    } else ws.send(JSON.stringify({ id: p.id, type: 'resume', after: p.lastSeq }));
    if (p.cancelWanted) ws.send(JSON.stringify({ id: p.id, type: 'cancel' }));
  };

  const open = async (): Promise<WebSocket> => {
    const bearer = await token();
    return new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(options.url, { ...options.socketOptions, headers: { ...options.socketOptions?.headers, Authorization: `Bearer ${bearer}` } });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  };

  const scheduleReconnect = (reason: string) => {
    if (closedByUser || timer !== undefined) return;
    if (reconnect === undefined || failures >= reconnect.maxAttempts) {
      failAll(clientError('CONNECTION_LOST', `connection lost (${reason})`, true));
      closedByUser = true;
      return;
    }
    const delayMs = backoffDelayMs(failures, reconnect.baseMs, reconnect.maxMs, random);
    failures += 1;
    options.onEvent?.({ type: 'reconnecting', attempt: failures, delayMs, reason });
    timer = setTimeout(() => {
      timer = undefined;
      establish().catch((error: unknown) => {
        const status = error instanceof Error ? statusOf(error) : undefined;
        if (status === 401 && options.getToken === undefined) {
          failAll(clientError('UNAUTHORIZED', 'the token was refused on reconnection', false));
          closedByUser = true;
          return;
        }
        scheduleReconnect(error instanceof Error ? error.message : String(error));
      });
    }, delayMs);
  };

  const establish = async () => {
    const ws = await open();
    if (closedByUser) {
      ws.close(1000);
      return;
    }
    socket = ws;
    connections += 1;
    failures = 0;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) onFrame(data.toString());
    });
    ws.on('error', () => undefined); // 'close' follows and drives reconnection
    ws.on('close', (code) => {
      if (socket === ws) socket = undefined;
      scheduleReconnect(`socket closed with ${code}`);
    });
    options.onEvent?.({ type: 'connected', connections });
    for (const p of pending.values()) sendPending(ws, p);
  };

  await establish().catch((error: unknown) => {
    const status = error instanceof Error ? statusOf(error) : undefined;
    throw clientError(status === 401 ? 'UNAUTHORIZED' : 'CONNECTION_FAILED', error instanceof Error ? error.message : String(error), status !== 401, {
      ...(status === undefined ? {} : { status }),
    });
  });

  const complete = (input: CompletionInput): Completion => {
    const id = input.id ?? randomUUID();
    let resolveDone!: (d: DoneEvent) => void;
    let rejectDone!: (e: GatewayClientError) => void;
    const done = new Promise<DoneEvent>((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    });
    done.catch(() => undefined); // a caller that only iterates still sees the error there
    const { id: _ignored, type, stream, ...rest } = input;
    const frame = JSON.stringify({ ...rest, id, type: type ?? 'chat', stream: stream ?? true });
    const p: Pending = { id, frame, sent: false, cancelWanted: false, lastSeq: 0, queue: [], waiters: [], failure: undefined, finished: false, resolveDone, rejectDone };
    if (closedByUser) finish(p, { error: clientError('CLIENT_CLOSED', 'the client is closed', false) });
    else if (pending.has(id)) finish(p, { error: clientError('INVALID_REQUEST', `id "${id}" is already in use`, false) });
    else {
      pending.set(id, p);
      if (socket?.readyState === WebSocket.OPEN) sendPending(socket, p);
    }
    const cancel = () => {
      if (p.finished) return;
      p.cancelWanted = true;
      if (p.sent && socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ id, type: 'cancel' }));
    };
    return {
      id,
      done,
      cancel,
      lastSeq: () => p.lastSeq,
      [Symbol.asyncIterator]: () => ({
        next: () => {
          const queued = p.queue.shift();
          if (queued !== undefined) return Promise.resolve({ value: queued, done: false });
          if (p.finished) return p.failure === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(p.failure);
          return new Promise<IteratorResult<ChunkEvent>>((resolve, reject) => p.waiters.push({ resolve, reject }));
        },
        // Leaving a for-await loop early means the rest is not wanted: stop paying for it.
        return: () => {
          cancel();
          return Promise.resolve({ value: undefined, done: true });
        },
      }),
    };
  };

  return {
    complete,
    connected: () => socket?.readyState === WebSocket.OPEN,
    connections: () => connections,
    socket: () => socket,
    close: async () => {
      closedByUser = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      failAll(clientError('CLIENT_CLOSED', 'the client was closed', false));
      const ws = socket;
      if (ws === undefined || ws.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000);
      });
    },
  };
};
