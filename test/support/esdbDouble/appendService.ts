import grpc from '@grpc/grpc-js';
import type { sendUnaryData, ServerDuplexStream, ServerReadableStream } from '@grpc/grpc-js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type { DoubleLog, Expected, ProposedEvent } from './doubleLog.js';
import {
  appendSuccessResp,
  appendWrongResp,
  batchErrorResp,
  batchInvalidResp,
  batchSuccessResp,
  proposedEvent,
  streamNameOf,
  uuidString,
} from './messages.js';

/**
 * TEST DOUBLE: `Streams.Append` (client streaming: options, then proposed
 * messages) and `Streams.BatchAppend` (bidirectional: batches keyed by a
 * correlation id, options on the first, `is_final` on the last) of the
 * EventStoreDB test double. A wrong expected revision is answered the way the
 * server answers it, so the client raises WrongExpectedVersionError: inside
 * the Append response, or as a google.rpc.Status carrying
 * event_store.client.WrongExpectedVersion for BatchAppend. Not modelled:
 * idempotent replays of the same event ids, deadlines, maximum append size.
 */

type AppendReq = streamsPb.AppendReq;
type AppendResp = streamsPb.AppendResp;
type BatchAppendReq = streamsPb.BatchAppendReq;
type BatchAppendResp = streamsPb.BatchAppendResp;

const AppendCase = streamsPb.AppendReq.Options.ExpectedStreamRevisionCase;
const BatchCase = streamsPb.BatchAppendReq.Options.ExpectedStreamPositionCase;

const appendExpected = (options: streamsPb.AppendReq.Options): Expected => {
  switch (options.getExpectedStreamRevisionCase()) {
    case AppendCase.REVISION:
      return { _tag: 'Revision', revision: Number(options.getRevision()) };
    case AppendCase.NO_STREAM:
      return { _tag: 'NoStream' };
    case AppendCase.STREAM_EXISTS:
      return { _tag: 'StreamExists' };
    default:
      return { _tag: 'Any' };
  }
};

const batchExpected = (options: streamsPb.BatchAppendReq.Options): Expected => {
  switch (options.getExpectedStreamPositionCase()) {
    case BatchCase.STREAM_POSITION:
      return { _tag: 'Revision', revision: Number(options.getStreamPosition()) };
    case BatchCase.NO_STREAM:
      return { _tag: 'NoStream' };
    case BatchCase.STREAM_EXISTS:
      return { _tag: 'StreamExists' };
    default:
      return { _tag: 'Any' };
  }
};

export const makeAppendHandler =
  (log: DoubleLog, onCall: () => void) => (call: ServerReadableStream<AppendReq, AppendResp>, callback: sendUnaryData<AppendResp>) => {
    onCall();
    let header: { streamName: string; expected: Expected } | undefined;
    let invalid: string | undefined;
    const events: ProposedEvent[] = [];
    call.on('data', (request: AppendReq) => {
      const options = request.getOptions();
      if (options !== undefined) {
        header = { streamName: streamNameOf(options.getStreamIdentifier()), expected: appendExpected(options) };
        return;
      }
      const message = request.getProposedMessage();
      if (header === undefined || message === undefined) {
        invalid = 'Append must send its options first';
        return;
      }
      const event = proposedEvent(message);
      if (event === undefined) invalid = 'a proposed event needs "type" and "content-type" metadata';
      else events.push(event);
    });
    call.on('end', () => {
      if (invalid !== undefined || header === undefined) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: invalid ?? 'Append without options' });
        return;
      }
      const outcome = log.append(header.streamName, header.expected, events);
      callback(
        null,
        outcome._tag === 'Written'
          ? appendSuccessResp(outcome.currentRevision, outcome.position)
          : appendWrongResp(outcome.current, header.expected),
      );
    });
    // A client that goes away mid-append writes nothing: the log is only
    // touched on 'end'.
    call.on('error', () => undefined);
  };

type PendingBatch = {
  readonly header: Parameters<typeof batchSuccessResp>[0];
  readonly events: ProposedEvent[];
  invalid: string | undefined;
};

export const makeBatchAppendHandler = (log: DoubleLog, onBatch: () => void) => (call: ServerDuplexStream<BatchAppendReq, BatchAppendResp>) => {
  const pending = new Map<string, PendingBatch>();
  const respond = (message: BatchAppendResp) => {
    if (!call.cancelled && !call.writableEnded) call.write(message);
  };

  call.on('data', (request: BatchAppendReq) => {
    const key = uuidString(request.getCorrelationId());
    let batch = pending.get(key);
    if (batch === undefined) {
      const options = request.getOptions();
      const header = {
        correlationId: request.getCorrelationId(),
        streamName: streamNameOf(options?.getStreamIdentifier()),
        expected: options === undefined ? ({ _tag: 'Any' } as const) : batchExpected(options),
      };
      batch = { header, events: [], invalid: options === undefined ? 'the first batch of an append needs options' : undefined };
      pending.set(key, batch);
    }
    for (const message of request.getProposedMessagesList()) {
      const event = proposedEvent(message);
      if (event === undefined) batch.invalid = 'a proposed event needs "type" and "content-type" metadata';
      else batch.events.push(event);
    }
    if (!request.getIsFinal()) return;
    pending.delete(key);
    onBatch();
    if (batch.invalid !== undefined) return respond(batchInvalidResp(batch.header, batch.invalid));
    const outcome = log.append(batch.header.streamName, batch.header.expected, batch.events);
    respond(
      outcome._tag === 'Written'
        ? batchSuccessResp(batch.header, outcome.currentRevision, outcome.position)
        : batchErrorResp(batch.header, outcome.current),
    );
  });
  call.on('end', () => {
    if (!call.writableEnded) call.end();
  });
  call.on('error', () => undefined);
};
