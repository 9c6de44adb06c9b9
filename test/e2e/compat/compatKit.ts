import * as E from 'fp-ts/lib/Either.js';
import type { CreateKeyInput } from '../../../application/apiKeys/keys.js';
import type { HttpServer } from '../../../adapters/http/server.js';
import { startHttpServer } from '../../../adapters/http/server.js';
import type { Kit, KitOptions } from '../ws/wsTestKit.js';
import { startKit } from '../ws/wsTestKit.js';

/**
 * The WebSocket kit (real app, SDK providers pointed at the fixture servers)
 * plus the REST server on a free port, so the official SDKs can be pointed at
 * it with `baseURL`, and helpers for keys and charges.
 */
export type CompatKit = Kit & {
  readonly http: HttpServer;
  readonly newKey: (input: CreateKeyInput) => Promise<{ keyId: string; secret: string }>;
  /** The charges (Settled events) of an account, in order. */
  readonly charges: (accountId: string) => Promise<number[]>;
  readonly stopAll: () => Promise<void>;
};

export const startCompatKit = async (options: KitOptions = {}): Promise<CompatKit> => {
  const kit = await startKit(options);
  const http = await startHttpServer(kit.app, { port: 0 });
  return {
    ...kit,
    http,
    newKey: async (input) => {
      const created = await kit.app.keys.create(input);
      if (E.isLeft(created)) throw new Error(`key create failed: ${created.left._tag}`);
      return { keyId: created.right.key.keyId, secret: created.right.secret };
    },
    charges: async (accountId) =>
      (await kit.accountEvents(accountId)).filter((e) => e.type === 'ReservationSettled').map((e) => e.data['charged'] as number),
    stopAll: async () => {
      await http.stop();
      await kit.stop();
    },
  };
};

/** Waits until `check` passes (settlement happens just after the last byte). */
export const eventually = async (check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};
