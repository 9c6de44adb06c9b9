import type { Instant } from '../shared/decider.js';
import type { LimitPeriod } from './events.js';

/**
 * The start of the limit period that contains `at`, in UTC: midnight for a
 * daily limit, the first of the month for a monthly one, and 0 for a total
 * limit (one period forever). `Date.UTC` only does calendar arithmetic on the
 * given instant; the clock never enters here.
 */
export const periodStart = (period: LimitPeriod, at: Instant): Instant => {
  switch (period) {
    case 'total':
      return 0;
    case 'day':
      return at - (at % 86_400_000);
    case 'month': {
      const date = new Date(at);
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    }
  }
};
