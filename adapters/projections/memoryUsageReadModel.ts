import type { UsageBatch, UsageRef, UsageRow } from '../../application/projections/usage.js';
import { addCounts, rowId } from '../../application/projections/usage.js';
import type { UsageReadModel } from '../../application/projections/usageReadModel.js';
import { CheckpointMoved, NO_POSITION } from '../../application/projections/usageReadModel.js';
import { groupRows } from './groupRows.js';

/** The read model beside the memory event store: lost on restart like the events, rebuilt on start. */
export const makeMemoryUsageReadModel = (): UsageReadModel => {
  let checkpoint = NO_POSITION;
  const rows = new Map<string, UsageRow>();
  const refs = new Map<string, UsageRef>();
  return {
    kind: 'memory',
    checkpoint: () => Promise.resolve(checkpoint),
    refs: (ids) => Promise.resolve(new Map(ids.flatMap((id) => (refs.has(id) ? [[id, refs.get(id) as UsageRef] as const] : [])))),
    commit: (batch: UsageBatch, after: number) => {
      if (checkpoint !== after) return Promise.reject(new CheckpointMoved(after, checkpoint));
      for (const delta of batch.deltas) {
        const id = rowId(delta);
        const before = rows.get(id);
        rows.set(id, before === undefined ? delta : { ...delta, ...addCounts(before, delta) });
      }
      for (const [id, ref] of batch.put) refs.set(id, ref);
      for (const id of batch.drop) refs.delete(id);
      checkpoint = batch.position;
      return Promise.resolve();
    },
    query: (query) => Promise.resolve(groupRows(rows.values(), query)),
    openHolds: () => {
      let count = 0;
      let credits = 0;
      for (const [id, ref] of refs) {
        if (!id.startsWith('r:')) continue;
        count += 1;
        credits += ref.amount;
      }
      return Promise.resolve({ count, credits });
    },
    reset: () => {
      rows.clear();
      refs.clear();
      checkpoint = NO_POSITION;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
};
