import type { ProviderStatus } from '../llm/router/llmRouter.js';

/**
 * What GET /stats shows about the WebSocket gateway. Plain data (JSON-safe),
 * computed on demand from the live registry; never blocks on I/O.
 */
export type GatewayStats = {
  /** Open, authenticated sockets. */
  readonly connections: number;
  /** Users with at least one open socket. */
  readonly users: number;
  /**
   * Sockets held by the busiest user, for spotting a runaway client. No user
   * ids: /stats is unauthenticated, and who is connected is not public.
   */
  readonly busiestUserConnections: number;
  /** The configured cap of sockets per user. */
  readonly maxConnectionsPerUser: number;
  /** Metered requests running now (hold taken or about to be). */
  readonly inFlight: number;
  /** Requests whose frames are kept for `resume`, and their size. */
  readonly resumeBuffer: { readonly requests: number; readonly bytes: number };
  /** Totals since start. */
  readonly totals: {
    readonly accepted: number;
    readonly refusedUpgrades: number;
    readonly requests: number;
    readonly slowClientsDropped: number;
    readonly heartbeatTimeouts: number;
  };
  /** Per-provider state from the router (breaker, in-flight, scripted or real). */
  readonly providers: readonly ProviderStatus[];
  /** True once close() has begun: no new sockets or requests are accepted. */
  readonly draining: boolean;
};
