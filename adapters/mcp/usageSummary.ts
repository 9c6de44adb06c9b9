import { accountStream } from '../../domain/creditAccount/index.js';
import { decodeAccountEvent } from '../../application/credits/ledger.js';
import type { EventStore } from '../../application/ports/eventStore.js';

/**
 * A caller's spending between two instants, from their own account stream:
 * direct deductions by service, settled holds by service and model, and
 * refunds. Bounded by the account's own history; the usage projection, where
 * one runs, answers the same question for every account at once.
 */
export type UsageSummary = {
  readonly from: string;
  readonly to: string;
  readonly charged: number;
  readonly refunded: number;
  readonly requests: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly byModel: readonly { readonly service: string; readonly model: string; readonly requests: number; readonly charged: number }[];
};

export const summarizeUsage = async (store: EventStore, userId: string, fromMs: number, toMs: number): Promise<UsageSummary> => {
  const purposes = new Map<string, { service: string; model: string }>();
  const rows = new Map<string, { service: string; model: string; requests: number; charged: number }>();
  let charged = 0;
  let refunded = 0;
  let requests = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  const add = (service: string, model: string, credits: number) => {
    const key = `${service}\n${model}`;
    const row = rows.get(key) ?? { service, model, requests: 0, charged: 0 };
    row.requests += 1;
    row.charged += credits;
    rows.set(key, row);
    requests += 1;
    charged += credits;
  };
  for await (const recorded of store.readStream(accountStream(userId))) {
    const event = decodeAccountEvent(recorded);
    if (event === undefined) continue;
    if (event.type === 'CreditsReserved') purposes.set(event.data.reservationId, { service: event.data.purpose.service, model: event.data.purpose.model ?? '' });
    const at = event.data.at;
    if (at < fromMs || at > toMs) continue;
    if (event.type === 'CreditsDeducted') add(event.data.service, '', event.data.amount);
    else if (event.type === 'ReservationSettled') {
      const purpose = purposes.get(event.data.reservationId) ?? { service: 'unknown', model: '' };
      add(purpose.service, event.data.usage.model ?? purpose.model, event.data.charged);
      inputTokens += event.data.usage.inputTokens ?? 0;
      outputTokens += event.data.usage.outputTokens ?? 0;
    } else if (event.type === 'DeductionRefunded') refunded += event.data.amount;
  }
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    charged,
    refunded,
    requests,
    inputTokens,
    outputTokens,
    byModel: [...rows.values()].sort((a, b) => b.charged - a.charged),
  };
};
