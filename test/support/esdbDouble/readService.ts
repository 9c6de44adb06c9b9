import { randomUUID } from 'node:crypto';
import grpc from '@grpc/grpc-js';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type { DoubleLog, StoredEvent } from './doubleLog.js';
import { caughtUpResp, checkpointResp, confirmationResp, eventResp, streamNameOf, streamNotFoundResp } from './messages.js';

/**
 * TEST DOUBLE: `Streams.Read` of the EventStoreDB test double. It serves what
 * @eventstore/db-client sends: reads of one stream or of `$all`, forwards and
 * backwards, and catch-up subscriptions to `$all` (confirmation, history
 * strictly after the start position, checkpoints for filtered ones, the
 * caught-up message, then live events). Stream subscriptions are not served.
 */

type ReadReq = streamsPb.ReadReq;
type ReadResp = streamsPb.ReadResp;
type Options = streamsPb.ReadReq.Options;
type ReadCall = ServerWritableStream<ReadReq, ReadResp>;

export type ReadServiceOptions = {
  /** Send the caught-up message (EventStoreDB 23.10+ does; older servers do not). */
  readonly caughtUpSignal: boolean;
  /** Records where each `$all` subscription asked to start, for tests to inspect. */
  readonly onSubscribe: (from: number | 'start' | 'end') => void;
};

/** Thrown (one shared instance) to unwind a handler whose client has gone. */
const callEnded = new Error('the call ended');

const gone = (call: ReadCall) => call.cancelled || call.destroyed || call.writableEnded;

/** Writes with backpressure, so a slow reader slows the double, not its memory. */
const send = async (call: ReadCall, message: ReadResp) => {
  if (gone(call)) throw callEnded;
  if (call.write(message)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
    call.on('close', done);
  });
};

const fail = (call: ReadCall, code: grpc.status, details: string) => {
  call.emit('error', { code, details, metadata: new grpc.Metadata() });
};

/** The server's event filters: regex or prefixes, on the stream name or the event type. */
const filterOf = (options: Options): ((event: StoredEvent) => boolean) | undefined => {
  if (!options.hasFilter()) return undefined;
  const filter = options.getFilter() as streamsPb.ReadReq.Options.FilterOptions;
  const onType = filter.hasEventType();
  const expression = onType ? filter.getEventType() : filter.getStreamIdentifier();
  if (expression === undefined) return undefined;
  const regex = expression.getRegex() === '' ? undefined : new RegExp(expression.getRegex());
  const prefixes = expression.getPrefixList();
  return (event) => {
    const subject = onType ? event.type : event.streamName;
    if (regex !== undefined && !regex.test(subject)) return false;
    return prefixes.length === 0 || prefixes.some((prefix) => subject.startsWith(prefix));
  };
};

const countOf = (options: Options): number =>
  options.hasCount() ? Math.min(Number(options.getCount()), Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;

async function readStream(log: DoubleLog, call: ReadCall, options: Options, structured: boolean) {
  const streamOptions = options.getStream() as streamsPb.ReadReq.Options.StreamOptions;
  const name = streamNameOf(streamOptions.getStreamIdentifier());
  const events = log.stream(name);
  if (events === undefined) {
    await send(call, streamNotFoundResp(name));
    return;
  }
  const count = countOf(options);
  const forwards = options.getReadDirection() === 0;
  if (forwards) {
    const start = streamOptions.hasRevision() ? Number(streamOptions.getRevision()) : streamOptions.hasEnd() ? events.length : 0;
    const end = Math.min(events.length, start + count);
    for (let i = start; i < end; i++) await send(call, eventResp(events[i] as StoredEvent, structured));
  } else {
    const last = events.length - 1;
    const start = streamOptions.hasRevision() ? Math.min(Number(streamOptions.getRevision()), last) : streamOptions.hasStart() ? 0 : last;
    for (let i = start, sent = 0; i >= 0 && sent < count; i--, sent++) await send(call, eventResp(events[i] as StoredEvent, structured));
  }
}

async function readAll(log: DoubleLog, call: ReadCall, options: Options, structured: boolean) {
  const allOptions = options.getAll() as streamsPb.ReadReq.Options.AllOptions;
  const all = log.all();
  const accept = filterOf(options) ?? (() => true);
  const count = countOf(options);
  const position = allOptions.getPosition();
  let sent = 0;
  if (options.getReadDirection() === 0) {
    // Forwards, a position is inclusive: the event at it comes first.
    const start = allOptions.hasEnd() ? all.length : position === undefined ? 0 : log.indexAtOrAfter(Number(position.getCommitPosition()));
    const end = all.length;
    for (let i = start; i < end && sent < count; i++) {
      const event = all[i] as StoredEvent;
      if (!accept(event)) continue;
      await send(call, eventResp(event, structured));
      sent++;
    }
  } else {
    // Backwards, a position is a post-position: the event at it is excluded.
    const start = allOptions.hasStart() ? -1 : position === undefined ? all.length - 1 : log.indexAtOrAfter(Number(position.getCommitPosition())) - 1;
    for (let i = start; i >= 0 && sent < count; i--) {
      const event = all[i] as StoredEvent;
      if (!accept(event)) continue;
      await send(call, eventResp(event, structured));
      sent++;
    }
  }
}

/** Resolves on the next append to the log, or when the call ends. */
const nextAppendOrEnd = (log: DoubleLog, call: ReadCall) =>
  new Promise<void>((resolve) => {
    const done = () => {
      unsubscribe();
      call.off('cancelled', done);
      call.off('close', done);
      resolve();
    };
    const unsubscribe = log.onAppend(done);
    call.on('cancelled', done);
    call.on('close', done);
  });

async function subscribeToAll(log: DoubleLog, call: ReadCall, options: Options, structured: boolean, service: ReadServiceOptions) {
  await send(call, confirmationResp(randomUUID()));
  const allOptions = options.getAll() as streamsPb.ReadReq.Options.AllOptions;
  const position = allOptions.getPosition();
  service.onSubscribe(allOptions.hasEnd() ? 'end' : position === undefined ? 'start' : Number(position.getCommitPosition()));
  // A subscription starts strictly after its position.
  let next = allOptions.hasEnd() ? log.all().length : position === undefined ? 0 : log.indexAtOrAfter(Number(position.getCommitPosition()) + 1);
  const filter = filterOf(options);
  const filterOptions = options.getFilter();
  const window = filterOptions?.hasMax() ? filterOptions.getMax() : 32;
  const checkpointEvery = Math.max(1, filterOptions?.getCheckpointintervalmultiplier() ?? 1) * window;
  let considered = 0;
  let caughtUp = false;
  while (!gone(call)) {
    // Listen before reading, so an append during the read is not missed.
    const appended = nextAppendOrEnd(log, call);
    const all = log.all();
    while (next < all.length) {
      const event = all[next++] as StoredEvent;
      considered++;
      if (filter === undefined || filter(event)) await send(call, eventResp(event, structured));
      if (filter !== undefined && considered % checkpointEvery === 0) await send(call, checkpointResp(event.position));
    }
    if (!caughtUp) {
      caughtUp = true;
      const last = all[next - 1];
      if (filter !== undefined && last !== undefined) await send(call, checkpointResp(last.position));
      if (service.caughtUpSignal) await send(call, caughtUpResp());
    }
    await appended;
  }
}

export const makeReadHandler = (log: DoubleLog, service: ReadServiceOptions) => async (call: ReadCall) => {
  const options = call.request.getOptions();
  if (options === undefined) return fail(call, grpc.status.INVALID_ARGUMENT, 'ReadReq without options');
  const structured = options.getUuidOption()?.hasStructured() ?? false;
  try {
    if (options.hasSubscription()) {
      if (!options.hasAll()) return fail(call, grpc.status.UNIMPLEMENTED, 'the ESDB test double serves subscriptions to $all only');
      await subscribeToAll(log, call, options, structured, service);
    } else if (options.hasStream()) {
      await readStream(log, call, options, structured);
    } else {
      await readAll(log, call, options, structured);
    }
    if (!gone(call)) call.end();
  } catch (error) {
    if (error === callEnded || gone(call)) return;
    fail(call, grpc.status.INTERNAL, error instanceof Error ? error.message : String(error));
  }
};
