import { SingleBar } from 'cli-progress';
import type { EventStore } from '../../application/ports/eventStore.js';
import { catchUpAlongside } from '../../application/projections/catchUp.js';
import { NO_POSITION } from '../../application/projections/usageReadModel.js';
import { openUsageReadModel } from '../projections/fromStoreUrl.js';
import { DEFAULT_EVENT_STORE } from '../eventstore/fromUrl.js';
import type { Io, Parsed } from './args.js';
import { positional, UsageError } from './args.js';

/**
 * `ledger projections rebuild` empties the usage read model and replays the
 * ledger from position 0 (progress bar on a terminal); `ledger projections
 * status` shows the committed position, the store's head and the lag. Run a
 * rebuild with the service stopped: a running service would see its
 * checkpoint move under it (it refuses to double count, and catches up after
 * a restart).
 */
const BATCH = 1000;

/** The store's last position and how many events lie after `after` (one pass over the tail). */
const headAfter = async (store: EventStore, after: number): Promise<{ head: number; behind: number }> => {
  let head = after;
  let behind = 0;
  for await (const event of store.readAll(after === NO_POSITION ? {} : { after })) {
    head = event.position;
    behind += 1;
  }
  return { head, behind };
};

export const runProjections = async (p: Parsed, store: EventStore, io: Io, json: boolean): Promise<number> => {
  const action = positional(p, 0, 'rebuild|status');
  if (action !== 'rebuild' && action !== 'status') throw new UsageError(`projections: unknown action "${action}" (rebuild or status)`);
  const model = await openUsageReadModel(io.env['EVENT_STORE'] || DEFAULT_EVENT_STORE);
  try {
    if (action === 'status') {
      const position = await model.checkpoint();
      const { head, behind } = await headAfter(store, position);
      const status = { projection: 'usage', readModel: model.kind, position, head, lagEvents: behind };
      if (json) io.out(JSON.stringify({ ok: true, ...status }));
      else io.out(`usage projection (${model.kind}): position ${position}, head ${head}, lag ${behind} events`);
      return 0;
    }
    const { behind: total } = await headAfter(store, NO_POSITION);
    const bar = io.isTty && !json ? new SingleBar({ format: 'rebuilding usage |{bar}| {value}/{total} events {rate} ev/s', hideCursor: true }) : undefined;
    bar?.start(total, 0, { rate: 0 });
    await model.reset();
    const started = performance.now();
    let done = 0;
    // A running service's runner may commit beside the rebuild (it catches up from the reset too): alongside, not against.
    const position = await catchUpAlongside(store, model, NO_POSITION, {
      batchSize: BATCH,
      onBatch: (_batch, events) => {
        done += events.length;
        bar?.update(done, { rate: Math.round(done / Math.max(0.001, (performance.now() - started) / 1000)) });
      },
    });
    bar?.stop();
    const seconds = (performance.now() - started) / 1000;
    const result = { projection: 'usage', readModel: model.kind, events: done, position, seconds: Math.round(seconds * 1000) / 1000, eventsPerSecond: Math.round(done / Math.max(seconds, 0.001)) };
    if (json) io.out(JSON.stringify({ ok: true, ...result }));
    else io.out(`rebuilt usage projection (${model.kind}): ${done} events to position ${position} in ${result.seconds} s (${result.eventsPerSecond} events/s)`);
    return 0;
  } finally {
    await model.close();
  }
};
