import codePb from '@eventstore/db-client/generated/code_pb.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import statusPb from '@eventstore/db-client/generated/status_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import anyPb from 'google-protobuf/google/protobuf/any_pb.js';
import emptyPb from 'google-protobuf/google/protobuf/empty_pb.js';
import type { Current, Expected, ProposedEvent, StoredEvent } from './doubleLog.js';

/**
 * TEST DOUBLE: protobuf messages of the EventStoreDB test double, shaped the
 * way EventStoreDB itself fills them (see the server's gRPC enumerators and
 * append handlers) and the way @eventstore/db-client parses them.
 */

const { ReadResp, AppendResp, BatchAppendResp } = streamsPb;

export const uuidString = (uuid: InstanceType<typeof sharedPb.UUID> | undefined): string => {
  if (uuid === undefined) return '';
  if (uuid.hasString()) return uuid.getString();
  const structured = uuid.getStructured();
  if (structured === undefined) return '';
  const half = (bits: string) => BigInt.asUintN(64, BigInt(bits)).toString(16).padStart(16, '0');
  const hex = half(structured.getMostSignificantBits()) + half(structured.getLeastSignificantBits());
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

const uuidMessage = (id: string, structured: boolean) => {
  const uuid = new sharedPb.UUID();
  if (!structured) return uuid.setString(id);
  const hex = id.replace(/-/g, '');
  const half = (part: string) => BigInt.asIntN(64, BigInt(`0x${part}`)).toString();
  const bits = new sharedPb.UUID.Structured();
  bits.setMostSignificantBits(half(hex.slice(0, 16)));
  bits.setLeastSignificantBits(half(hex.slice(16)));
  return uuid.setStructured(bits);
};

export const streamIdentifier = (streamName: string) => new sharedPb.StreamIdentifier().setStreamName(Buffer.from(streamName, 'utf8'));

export const streamNameOf = (identifier: InstanceType<typeof sharedPb.StreamIdentifier> | undefined): string =>
  identifier === undefined ? '' : Buffer.from(identifier.getStreamName_asU8()).toString('utf8');

export const eventResp = (event: StoredEvent, structuredIds: boolean) => {
  const recorded = new ReadResp.ReadEvent.RecordedEvent()
    .setId(uuidMessage(event.id, structuredIds))
    .setStreamIdentifier(streamIdentifier(event.streamName))
    .setStreamRevision(String(event.revision))
    .setCommitPosition(String(event.position))
    .setPreparePosition(String(event.position))
    .setData(event.data)
    .setCustomMetadata(event.customMetadata);
  const metadata = recorded.getMetadataMap();
  metadata.set('type', event.type);
  metadata.set('created', event.createdTicks);
  metadata.set('content-type', event.contentType);
  const read = new ReadResp.ReadEvent().setEvent(recorded).setCommitPosition(String(event.position));
  return new ReadResp().setEvent(read);
};

export const streamNotFoundResp = (streamName: string) =>
  new ReadResp().setStreamNotFound(new ReadResp.StreamNotFound().setStreamIdentifier(streamIdentifier(streamName)));

export const confirmationResp = (subscriptionId: string) =>
  new ReadResp().setConfirmation(new ReadResp.SubscriptionConfirmation().setSubscriptionId(subscriptionId));

export const caughtUpResp = () => new ReadResp().setCaughtUp(new ReadResp.CaughtUp());

export const checkpointResp = (position: number) =>
  new ReadResp().setCheckpoint(new ReadResp.Checkpoint().setCommitPosition(String(position)).setPreparePosition(String(position)));

type Proposed = InstanceType<typeof streamsPb.AppendReq.ProposedMessage> | InstanceType<typeof streamsPb.BatchAppendReq.ProposedMessage>;

/** The real server refuses a proposed event without these two metadata keys. */
export const proposedEvent = (message: Proposed): ProposedEvent | undefined => {
  const metadata = message.getMetadataMap();
  const type = metadata.get('type');
  const contentType = metadata.get('content-type');
  if (type === undefined || contentType === undefined) return undefined;
  return {
    id: uuidString(message.getId()),
    type,
    contentType,
    data: message.getData_asU8(),
    customMetadata: message.getCustomMetadata_asU8(),
  };
};

/** The details the server packs into a batch append's error status. */
const wrongExpectedVersionDetails = (current: Current, expected: Expected) => {
  const details = new sharedPb.WrongExpectedVersion();
  if (current === undefined) details.setCurrentNoStream(new emptyPb.Empty());
  else details.setCurrentStreamRevision(String(current));
  switch (expected._tag) {
    case 'Any':
      return details.setExpectedAny(new emptyPb.Empty());
    case 'NoStream':
      return details.setExpectedNoStream(new emptyPb.Empty());
    case 'StreamExists':
      return details.setExpectedStreamExists(new emptyPb.Empty());
    case 'Revision':
      return details.setExpectedStreamPosition(String(expected.revision));
  }
};

export const appendWrongResp = (current: Current, expected: Expected) => {
  const wrong = new AppendResp.WrongExpectedVersion();
  // Servers fill the 20.6.0-era fields as well as the current ones.
  if (current === undefined) wrong.setCurrentNoStream(new sharedPb.Empty()).setNoStream2060(new sharedPb.Empty());
  else wrong.setCurrentRevision(String(current)).setCurrentRevision2060(current);
  switch (expected._tag) {
    case 'Any':
      wrong.setExpectedAny(new sharedPb.Empty()).setAny2060(new sharedPb.Empty());
      break;
    case 'NoStream':
      wrong.setExpectedNoStream(new sharedPb.Empty());
      break;
    case 'StreamExists':
      wrong.setExpectedStreamExists(new sharedPb.Empty()).setStreamExists2060(new sharedPb.Empty());
      break;
    case 'Revision':
      wrong.setExpectedRevision(String(expected.revision)).setExpectedRevision2060(expected.revision);
      break;
  }
  return new AppendResp().setWrongExpectedVersion(wrong);
};

export const appendSuccessResp = (currentRevision: number, position: number) => {
  const success = new AppendResp.Success().setPosition(
    new AppendResp.Position().setCommitPosition(String(position)).setPreparePosition(String(position)),
  );
  if (currentRevision < 0) success.setNoStream(new sharedPb.Empty());
  else success.setCurrentRevision(String(currentRevision));
  return new AppendResp().setSuccess(success);
};

type BatchHeader = {
  readonly correlationId: InstanceType<typeof sharedPb.UUID> | undefined;
  readonly streamName: string;
  readonly expected: Expected;
};

const batchResp = (header: BatchHeader) => {
  const resp = new BatchAppendResp().setStreamIdentifier(streamIdentifier(header.streamName));
  if (header.correlationId !== undefined) resp.setCorrelationId(header.correlationId);
  switch (header.expected._tag) {
    case 'Any':
      return resp.setAny(new emptyPb.Empty());
    case 'NoStream':
      return resp.setNoStream(new emptyPb.Empty());
    case 'StreamExists':
      return resp.setStreamExists(new emptyPb.Empty());
    case 'Revision':
      return resp.setStreamPosition(String(header.expected.revision));
  }
};

export const batchSuccessResp = (header: BatchHeader, currentRevision: number, position: number) => {
  const success = new BatchAppendResp.Success().setPosition(
    new sharedPb.AllStreamPosition().setCommitPosition(String(position)).setPreparePosition(String(position)),
  );
  if (currentRevision < 0) success.setNoStream(new emptyPb.Empty());
  else success.setCurrentRevision(String(currentRevision));
  return batchResp(header).setSuccess(success);
};

export const batchErrorResp = (header: BatchHeader, current: Current) => {
  const details = new anyPb.Any();
  details.pack(wrongExpectedVersionDetails(current, header.expected).serializeBinary(), 'event_store.client.WrongExpectedVersion');
  const status = new statusPb.Status()
    .setCode(codePb.Code.FAILED_PRECONDITION)
    .setMessage('WrongExpectedVersion')
    .setDetails(details);
  return batchResp(header).setError(status);
};

/** A batch the double cannot accept (for example an event without a type). */
export const batchInvalidResp = (header: BatchHeader, message: string) => {
  const details = new anyPb.Any();
  details.pack(new sharedPb.Unknown().serializeBinary(), 'event_store.client.Unknown');
  return batchResp(header).setError(new statusPb.Status().setCode(codePb.Code.INVALID_ARGUMENT).setMessage(message).setDetails(details));
};
