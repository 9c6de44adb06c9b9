import type { CompletionFrame } from './protocol.js';
import type { Bucket } from './budget.js';
import type { RequestLog } from './resumeBuffer.js';

/** The shapes shared by the gateway's modules (kept apart so that they import each other's types without a cycle). */

/**
 * One authenticated socket as the gateway sees it. `Peer` hides the `ws`
 * library, so the gateway's rules can be driven by tests without sockets.
 */
export type Peer = {
  readonly send: (frame: string) => void;
  /** Bytes queued in user space and not yet handed to the kernel. */
  readonly bufferedAmount: () => number;
  readonly close: (code: number, reason: string) => void;
  /** Destroys the socket at once (no closing handshake). */
  readonly terminate: () => void;
};

export type Conn = {
  readonly id: number;
  readonly userId: string;
  /** The token's `exp` in ms; requests after it are refused with UNAUTHORIZED. */
  readonly tokenExpiresAtMs: number | undefined;
  readonly peer: Peer;
  /** Running requests whose frames go to this socket. */
  readonly requests: Set<Running>;
  open: boolean;
  /** Cleared at each heartbeat ping, set by the pong. */
  alive: boolean;
  /** What this socket may still send (frames), be refused (strikes) and have replayed (bytes); budget.ts. */
  readonly budget: { readonly messages: Bucket; readonly strikes: Bucket; readonly replayBytes: Bucket };
};

/** Why a request was stopped before the provider finished. */
export type StopReason = 'cancel' | 'disconnect' | 'heartbeat' | 'slowClient' | 'shutdown' | 'budget';

export type Running = {
  readonly requestId: string;
  readonly userId: string;
  readonly frame: CompletionFrame;
  readonly controller: AbortController;
  readonly log: RequestLog;
  /** The socket that receives the frames; undefined once it closed. */
  conn: Conn | undefined;
  readonly startedAtMs: number;
  firstChunkAtMs: number | undefined;
  chunks: number;
  /** With `stream: false`, the text is collected here and sent as one chunk at the end. */
  readonly collected: string[] | undefined;
  stopReason: StopReason | undefined;
  done: Promise<void>;
};
