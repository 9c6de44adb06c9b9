import { connectGateway, type GatewayClient } from '../../adapters/ws/client.js';
import type { Rng } from './prng.js';
import type { Instance } from './processes.js';
import { ledger } from './processes.js';

/**
 * The simulation's client side: random operations against the running
 * instances, each recorded as the client saw it (chunks with their arrival
 * time, the done frame, the error, HTTP answers, CLI exit codes). The checks
 * compare these records with the ledger's history afterwards.
 */

export const SIM_MODEL = 'gpt-4o';
export const REST_SERVICE = 'sim-rest';
export const CLI_SERVICE = 'sim-cli';

export type StreamRecord = {
  readonly kind: 'stream';
  readonly id: string;
  readonly account: string;
  readonly mode: 'full' | 'cancel' | 'disconnect';
  readonly stopAfter: number;
  readonly maxTokens: number;
  instance: string;
  readonly startedAt: number;
  endedAt?: number;
  readonly chunks: { readonly t: number; readonly data: string }[];
  done?: { readonly charged: number; readonly outputTokens: number; readonly inputTokens: number; readonly ended: string; readonly raw: unknown };
  error?: { readonly code: string; readonly message: string };
  /** Set when the instance serving it was SIGKILLed while it ran. */
  killedAt?: number;
  /**
   * Set when the instance that served it was SIGKILLed after the stream ended but while its settle was
   * still pending (the store had refused it: the done frame said credits.pending). The stated bound then
   * allows the output delivered while the store was down to go unpaid: nothing of it could be recorded.
   */
  pendingKilledAt?: number;
  disconnectedAt?: number;
  cancelledAt?: number;
};

export type RestDeductRecord = {
  readonly kind: 'rest-deduct';
  readonly key: string;
  readonly account: string;
  readonly credits: number;
  readonly answers: { readonly instance: string; readonly status: number; readonly at: number; readonly replayed: boolean; readonly body: unknown }[];
};

export type CliRecord = {
  readonly kind: 'cli-deduct' | 'cli-grant' | 'rest-grant';
  readonly id: string;
  readonly account: string;
  readonly amount: number;
  readonly expiresAt?: number;
  code?: number | null;
  body?: unknown;
  readonly at: number;
};

export type Records = {
  readonly streams: StreamRecord[];
  readonly rest: RestDeductRecord[];
  readonly cli: CliRecord[];
};

export type WorkloadContext = {
  readonly rng: Rng;
  readonly accounts: readonly string[];
  readonly tokens: Readonly<Record<string, string>>;
  readonly instances: readonly Instance[];
  readonly env: Readonly<Record<string, string>>;
  readonly records: Records;
  readonly prefix: string;
  /** Streams running now, by instance name (for kills). */
  readonly running: Map<string, Set<StreamRecord>>;
  readonly openClients: Set<GatewayClient>;
  next: () => number;
  /** When operations began (ms since the epoch). */
  startedAt: number;
};

const errorOf = (error: unknown) => {
  const e = error as { code?: unknown; message?: unknown };
  return { code: typeof e.code === 'string' ? e.code : 'EXCEPTION', message: String(e.message ?? error) };
};

const aliveInstance = (ctx: WorkloadContext, preferred: number): Instance | undefined => {
  const n = ctx.instances.length;
  for (let i = 0; i < n; i += 1) {
    const inst = ctx.instances[(preferred + i) % n] as Instance;
    if (inst.alive() && inst.websocket() !== '') return inst;
  }
  return undefined;
};

const STREAM_TIMEOUT_MS = 90_000;

const WORDS = ['ledger', 'river', 'stone', 'credit', 'window', 'signal', 'paper', 'engine', 'honest', 'winter', 'bright', 'market'];

export const streamOp = async (ctx: WorkloadContext): Promise<void> => {
  const { rng } = ctx;
  const account = rng.pick(ctx.accounts);
  const mode = rng.weighted({ full: 6, cancel: 2, disconnect: 2 });
  const rec: StreamRecord = {
    kind: 'stream',
    id: `${ctx.prefix}-s${ctx.next()}`,
    account,
    mode,
    stopAfter: rng.int(1, 20),
    maxTokens: rng.int(30, 140),
    instance: '',
    startedAt: Date.now(),
    chunks: [],
  };
  const prompt = `Tell me about ${rng.pick(WORDS)} and ${rng.pick(WORDS)} (${rng.int(0, 1_000_000)}).`;
  const inst = aliveInstance(ctx, rng.int(0, ctx.instances.length - 1));
  ctx.records.streams.push(rec);
  if (inst === undefined) {
    rec.error = { code: 'NO_INSTANCE', message: 'no instance alive' };
    return;
  }
  rec.instance = inst.name;
  const running = ctx.running.get(inst.name) ?? new Set<StreamRecord>();
  ctx.running.set(inst.name, running);
  running.add(rec);
  let gw: GatewayClient | undefined;
  const guard = setTimeout(() => void gw?.close(), STREAM_TIMEOUT_MS);
  try {
    gw = await connectGateway({ url: inst.websocket(), token: ctx.tokens[account] ?? '', reconnect: false, socketOptions: { handshakeTimeout: 10_000 } });
    ctx.openClients.add(gw);
    const answer = gw.complete({ id: rec.id, model: SIM_MODEL, messages: [{ role: 'user', content: prompt }], maxTokens: rec.maxTokens });
    for await (const chunk of answer) {
      rec.chunks.push({ t: Date.now(), data: chunk.data });
      if (rec.chunks.length !== rec.stopAfter) continue;
      if (mode === 'cancel') {
        rec.cancelledAt = Date.now();
        answer.cancel();
      } else if (mode === 'disconnect') {
        rec.disconnectedAt = Date.now();
        gw.socket()?.terminate();
      }
    }
    const done = await answer.done;
    rec.done = { charged: done.credits.charged, outputTokens: done.usage.outputTokens, inputTokens: done.usage.inputTokens, ended: done.ended, raw: done };
  } catch (error) {
    rec.error = errorOf(error);
  } finally {
    clearTimeout(guard);
    rec.endedAt = Date.now();
    running.delete(rec);
    if (gw !== undefined) {
      ctx.openClients.delete(gw);
      await gw.close().catch(() => undefined);
    }
  }
};

export const restDeductOp = async (ctx: WorkloadContext): Promise<void> => {
  const { rng } = ctx;
  const earlier = ctx.records.rest;
  // Some requests repeat an earlier key with the same body (a client retry), possibly to another instance.
  const rec: RestDeductRecord =
    earlier.length > 0 && rng.chance(0.3)
      ? rng.pick(earlier)
      : { kind: 'rest-deduct', key: `${ctx.prefix}-k${ctx.next()}`, account: rng.pick(ctx.accounts), credits: rng.int(5, 60), answers: [] };
  if (!ctx.records.rest.includes(rec)) ctx.records.rest.push(rec);
  const inst = aliveInstance(ctx, rng.int(0, ctx.instances.length - 1));
  if (inst === undefined) return;
  const at = Date.now();
  try {
    const response = await fetch(`${inst.rest()}/api/credits/deduct`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.tokens[rec.account] ?? ''}`, 'content-type': 'application/json', 'idempotency-key': rec.key },
      body: JSON.stringify({ credits: rec.credits, service: REST_SERVICE, sessionId: rec.key }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // kept as text
    }
    rec.answers.push({ instance: inst.name, status: response.status, at, replayed: response.headers.get('idempotent-replayed') === 'true', body });
  } catch (error) {
    rec.answers.push({ instance: inst.name, status: 0, at, replayed: false, body: errorOf(error) });
  }
};

export const cliDeductOp = async (ctx: WorkloadContext): Promise<void> => {
  const { rng } = ctx;
  const rec: CliRecord = { kind: 'cli-deduct', id: `${ctx.prefix}-d${ctx.next()}`, account: rng.pick(ctx.accounts), amount: rng.int(5, 80), at: Date.now() };
  ctx.records.cli.push(rec);
  const result = await ledger(['deduct', rec.account, String(rec.amount), '--id', rec.id, '--service', CLI_SERVICE], ctx.env);
  rec.code = result.code;
  rec.body = result.json ?? result.stderr.slice(0, 500);
};

export const cliGrantOp = async (ctx: WorkloadContext): Promise<void> => {
  const { rng } = ctx;
  const expiring = rng.chance(0.6);
  const base = { kind: 'cli-grant' as const, id: `${ctx.prefix}-g${ctx.next()}`, account: rng.pick(ctx.accounts), amount: rng.int(50, 300), at: Date.now() };
  const rec: CliRecord = expiring ? { ...base, expiresAt: Date.now() + rng.int(1_000, 6_000) } : base;
  ctx.records.cli.push(rec);
  const result = await grant(ctx.env, rec);
  rec.code = result.code;
  rec.body = result.json ?? result.stderr.slice(0, 500);
};

export const grant = (env: Readonly<Record<string, string>>, rec: CliRecord) =>
  ledger(['grant', rec.account, String(rec.amount), '--id', rec.id, ...(rec.expiresAt === undefined ? [] : ['--expires', new Date(rec.expiresAt).toISOString()])], env);

/** An admin's grant through REST (POST /api/credits/{userId}/grants); code 0 = 2xx, 1 = 4xx, null = unknown outcome. */
export const restGrant = async (rest: string, adminToken: string, rec: CliRecord) => {
  try {
    const response = await fetch(`${rest}/api/credits/${encodeURIComponent(rec.account)}/grants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ credits: rec.amount, grantId: rec.id, ...(rec.expiresAt === undefined ? {} : { expiresAt: new Date(rec.expiresAt).toISOString() }) }),
      signal: AbortSignal.timeout(30_000),
    });
    rec.body = await response.json().catch(() => undefined);
    rec.code = response.ok ? 0 : response.status < 500 ? 1 : null;
  } catch (error) {
    rec.body = errorOf(error);
    rec.code = null;
  }
};

export const OPERATIONS = { stream: streamOp, restDeduct: restDeductOp, cliDeduct: cliDeductOp, cliGrant: cliGrantOp } as const;
export type OperationName = keyof typeof OPERATIONS;
export const OPERATION_WEIGHTS: Readonly<Record<OperationName, number>> = { stream: 10, restDeduct: 4, cliDeduct: 1.5, cliGrant: 1.5 };
