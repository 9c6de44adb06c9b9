import net from 'node:net';
import grpc from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import featuresGrpc from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import featuresPb from '@eventstore/db-client/generated/serverfeatures_pb.js';
import type sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import { makeAppendHandler, makeBatchAppendHandler } from './appendService.js';
import { makeDoubleLog } from './doubleLog.js';
import { makeReadHandler } from './readService.js';

/**
 * TEST DOUBLE — NOT AN EVENTSTOREDB SERVER.
 *
 * A minimal gRPC server that speaks just enough of EventStoreDB's protocol for
 * our adapter (adapters/eventstore/esdb) to be tested through the real
 * @eventstore/db-client over real sockets, on machines where no EventStoreDB
 * can run. It is built from the service definitions the client ships
 * (node_modules/@eventstore/db-client/generated/*_grpc_pb.js) and keeps its
 * events in memory. What it covers and what it does not is listed in
 * docs/esdb.md; the same contract suite runs against a real server whenever
 * ESDB_URL is set.
 *
 * Clients connect through a TCP relay so that `dropConnections()` can cut
 * every connection the way a network failure or a server restart would,
 * without losing the log.
 */

export type EsdbDouble = {
  /** A single-node, insecure connection string for the client. */
  readonly url: string;
  readonly stop: () => Promise<void>;
  /** Cuts every open client connection; new connections are accepted at once. */
  readonly dropConnections: () => void;
  /** What the double has served so far, so tests can tell which protocol paths ran. */
  readonly stats: () => EsdbDoubleStats;
};

export type EsdbDoubleStats = {
  /** Append calls (the client-streaming protocol). */
  readonly appendCalls: number;
  /** Appends completed through BatchAppend (one per final batch). */
  readonly batchAppends: number;
  /** Start of every `$all` subscription, in order: a commit position, 'start' or 'end'. */
  readonly subscriptionStarts: readonly (number | 'start' | 'end')[];
};

export type EsdbDoubleOptions = {
  /** Advertise BatchAppend (as EventStoreDB 21.10+ does); false makes the client use Append. Default true. */
  readonly batchAppend?: boolean;
  /** Send the subscription caught-up message (EventStoreDB 23.10+). Default true. */
  readonly caughtUpSignal?: boolean;
  /** Write a `$statistics-collected` system event after every n-th append; 0 = never. Default 5. */
  readonly systemEventEvery?: number;
};

const serverVersion = '24.10.0 (esdb test double)';

const supportedMethods = (batchAppend: boolean) => {
  const method = (serviceName: string, methodName: string) =>
    new featuresPb.SupportedMethod().setServiceName(serviceName).setMethodName(methodName);
  const streams = 'event_store.client.streams.streams';
  const methods = [
    method(streams, 'read'),
    method(streams, 'append'),
    ...(batchAppend ? [method(streams, 'batchappend')] : []),
    method('event_store.client.server_features.serverfeatures', 'getsupportedmethods'),
  ];
  return new featuresPb.SupportedMethods().setMethodsList(methods).setEventStoreServerVersion(serverVersion);
};

const unimplemented = (_call: unknown, callback: sendUnaryData<never>) =>
  callback({ code: grpc.status.UNIMPLEMENTED, details: 'not served by the ESDB test double' });

const bindServer = (server: grpc.Server) =>
  new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port)));
  });

/** A TCP relay in front of the gRPC port, whose connections can be cut at will. */
const startRelay = async (targetPort: number) => {
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((downstream) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [downstream, upstream]) {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        downstream.destroy();
        upstream.destroy();
      });
    }
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const port = (relay.address() as net.AddressInfo).port;
  const dropConnections = () => {
    for (const socket of [...sockets]) socket.destroy();
  };
  const close = () =>
    new Promise<void>((resolve) => {
      relay.close(() => resolve());
      dropConnections();
    });
  return { port, dropConnections, close };
};

export const startEsdbDouble = async (options: EsdbDoubleOptions = {}): Promise<EsdbDouble> => {
  const batchAppend = options.batchAppend ?? true;
  const log = makeDoubleLog({ systemEventEvery: options.systemEventEvery ?? 5 });
  const stats = { appendCalls: 0, batchAppends: 0, subscriptionStarts: [] as (number | 'start' | 'end')[] };
  const server = new grpc.Server();
  server.addService(streamsGrpc.StreamsService, {
    read: makeReadHandler(log, {
      caughtUpSignal: options.caughtUpSignal ?? true,
      onSubscribe: (from) => stats.subscriptionStarts.push(from),
    }),
    append: makeAppendHandler(log, () => stats.appendCalls++),
    batchAppend: makeBatchAppendHandler(log, () => stats.batchAppends++),
    delete: unimplemented,
    tombstone: unimplemented,
  });
  server.addService(featuresGrpc.ServerFeaturesService, {
    getSupportedMethods: (_call: ServerUnaryCall<sharedPb.Empty, unknown>, callback: sendUnaryData<unknown>) =>
      callback(null, supportedMethods(batchAppend)),
  });
  const grpcPort = await bindServer(server);
  const relay = await startRelay(grpcPort);
  return {
    url: `esdb://127.0.0.1:${relay.port}?tls=false`,
    dropConnections: relay.dropConnections,
    stats: () => ({ ...stats, subscriptionStarts: [...stats.subscriptionStarts] }),
    stop: async () => {
      await relay.close();
      server.forceShutdown();
    },
  };
};
