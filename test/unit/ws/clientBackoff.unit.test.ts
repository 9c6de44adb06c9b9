import { describe, expect, it } from '@jest/globals';
import { backoffDelayMs } from '../../../adapters/ws/client.js';

describe('client reconnection backoff', () => {
  it('doubles from baseMs up to maxMs, with half of each delay random', () => {
    const low = (attempt: number) => backoffDelayMs(attempt, 100, 5_000, () => 0);
    const high = (attempt: number) => backoffDelayMs(attempt, 100, 5_000, () => 0.999_999);
    expect([0, 1, 2, 3].map(low)).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map(high)).toEqual([100, 200, 400, 800]);
    expect(low(20)).toBe(2_500);
    expect(high(20)).toBe(5_000);
    expect(high(10_000)).toBe(5_000);
  });
});
