import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import type { Credits } from '../../../domain/shared/money.js';
import {
  ceilDiv,
  chargeFor,
  holdFor,
  inputTokensBound,
  resolveMaxTokens,
  settleCharge,
  tokenCredits,
  videoCharge,
} from '../../../domain/pricing/charge.js';
import type { PriceSheet } from '../../../domain/pricing/priceSheet.js';
import { decodePriceSheet } from '../../../domain/pricing/priceSheet.js';

const { default: shipped } = await import('../../../config/prices.json', { with: { type: 'json' } });

const sheetOrThrow = (raw: unknown): PriceSheet => {
  const decoded = decodePriceSheet(raw);
  if (E.isLeft(decoded)) throw new Error(decoded.left.problems.join('; '));
  return decoded.right;
};
const sheet = sheetOrThrow(shipped);
const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(`expected Right, got ${JSON.stringify(e.left)}`);
  return e.right;
};

describe('integer arithmetic', () => {
  it('ceilDiv is the exact ceiling, checked against BigInt', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: 1_000_000 }), (n, d) => {
        const exact = (BigInt(n) + BigInt(d) - 1n) / BigInt(d);
        expect(BigInt(ceilDiv(n, d))).toBe(exact);
      }),
    );
  });

  it('rounds each side up to the next credit', () => {
    expect(tokenCredits(1, 15)).toBe(1);
    expect(tokenCredits(1000, 15)).toBe(15);
    expect(tokenCredits(1001, 15)).toBe(16);
    expect(tokenCredits(0, 15)).toBe(0);
  });

  it('refuses to leave the safe-integer range', () => {
    expect(() => tokenCredits(Number.MAX_SAFE_INTEGER, 100)).toThrow(RangeError);
  });
});

describe('charges from the shipped sheet', () => {
  it('prices input and output separately and records the sheet version', () => {
    expect(right(chargeFor(sheet, 'gpt-4o', { inputTokens: 1000, outputTokens: 500 }))).toEqual({
      model: 'gpt-4o',
      priceSheetVersion: sheet.version,
      inputCredits: 250,
      outputCredits: 500,
      credits: 750,
    });
    expect(right(chargeFor(sheet, 'claude-3-haiku-20240307', { inputTokens: 10, outputTokens: 3 })).credits).toBe(1 + 1);
  });

  it('refuses unknown models and bad token counts', () => {
    expect(chargeFor(sheet, 'gpt-9', { inputTokens: 1, outputTokens: 1 })).toEqual(E.left({ _tag: 'UnknownModel', model: 'gpt-9' }));
    expect(chargeFor(sheet, 'toString', { inputTokens: 1, outputTokens: 1 })).toEqual(E.left({ _tag: 'UnknownModel', model: 'toString' }));
    expect(chargeFor(sheet, 'gpt-4o', { inputTokens: 1.5, outputTokens: 1 })).toEqual(E.left({ _tag: 'InvalidTokenCount', value: 1.5 }));
  });

  it('a hold is the input estimate with margin plus max_tokens of output', () => {
    // 100 + ceil(100 * 5 / 100) + 16 = 121 input tokens; ceil(121*15/1000) = 2; ceil(1024*60/1000) = 62.
    expect(right(holdFor(sheet, 'gpt-4o-mini', 100, 1024))).toEqual({
      model: 'gpt-4o-mini',
      priceSheetVersion: sheet.version,
      inputTokensBound: 121,
      maxTokens: 1024,
      credits: 64,
    });
    expect(inputTokensBound(sheet, 'claude', 100)).toBe(100 + 35 + 64);
  });

  it('max_tokens defaults per model and must stay within the model limit', () => {
    expect(resolveMaxTokens(sheet, 'o4-mini')).toEqual(E.right(4096));
    expect(resolveMaxTokens(sheet, 'gpt-4', 500)).toEqual(E.right(500));
    for (const bad of [0, -1, 2.5, 8193]) {
      expect(resolveMaxTokens(sheet, 'gpt-4', bad)).toEqual(E.left({ _tag: 'InvalidMaxTokens', model: 'gpt-4', requested: bad, max: 8192 }));
    }
    expect(E.isLeft(holdFor(sheet, 'gpt-4', 10, 8193))).toBe(true);
  });

  it('the shipped sheet lists the model families the gateway promises', () => {
    for (const model of [
      'gpt-3.5-turbo', 'gpt-4', 'gpt-4-turbo', 'gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'o3-mini', 'o4-mini',
      'claude-3-haiku-20240307', 'claude-3-5-sonnet-latest', 'claude-3-7-sonnet-latest', 'claude-sonnet-4-0', 'claude-opus-4-0',
    ]) {
      expect(sheet.models[model]).toBeDefined();
    }
  });
});

describe('the hold is an upper bound (property, every model in the table)', () => {
  const models = Object.keys(sheet.models);
  const scenario = fc
    .record({
      model: fc.constantFrom(...models),
      estimate: fc.integer({ min: 0, max: 200_000 }),
      maxFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      inFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      outFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map((s) => {
      const limit = sheet.models[s.model]?.maxOutputTokens ?? 1;
      const maxTokens = Math.max(1, Math.floor(s.maxFraction * limit));
      return { ...s, maxTokens, limit };
    });

  it('covers any usage with input <= estimate (plus margin) and output <= max_tokens', () => {
    fc.assert(
      fc.property(scenario, ({ model, estimate, maxTokens, inFraction, outFraction }) => {
        const hold = right(holdFor(sheet, model, estimate, maxTokens));
        const usage = { inputTokens: Math.floor(inFraction * hold.inputTokensBound), outputTokens: Math.floor(outFraction * maxTokens) };
        const charge = right(chargeFor(sheet, model, usage));
        expect(charge.credits).toBeLessThanOrEqual(hold.credits);
        expect(settleCharge(hold.credits, charge)).toEqual({ credits: charge.credits, capped: false, charge });
      }),
      { numRuns: 2000 },
    );
  });

  it('is tight at the bounds: usage exactly at the bounds costs exactly the hold', () => {
    fc.assert(
      fc.property(scenario, ({ model, estimate, maxTokens }) => {
        const hold = right(holdFor(sheet, model, estimate, maxTokens));
        const charge = right(chargeFor(sheet, model, { inputTokens: hold.inputTokensBound, outputTokens: maxTokens }));
        expect(charge.credits).toBe(hold.credits);
      }),
    );
  });

  it('a usage beyond the bounds can cost more, and is then clamped to the hold', () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 1_000, max: 100_000 }), ({ model, estimate, maxTokens }, extra) => {
        const hold = right(holdFor(sheet, model, estimate, maxTokens));
        const charge = right(chargeFor(sheet, model, { inputTokens: hold.inputTokensBound + extra, outputTokens: maxTokens + extra }));
        expect(charge.credits).toBeGreaterThan(hold.credits);
        const settled = settleCharge(hold.credits, charge);
        expect(settled).toMatchObject({ credits: hold.credits, capped: true });
      }),
    );
  });

  it('settles at most the hold for any usage at all', () => {
    fc.assert(
      fc.property(fc.constantFrom(...models), fc.nat(5_000_000), fc.nat(5_000_000), fc.nat(1_000_000), (model, i, o, h) => {
        const charge = right(chargeFor(sheet, model, { inputTokens: i, outputTokens: o }));
        expect(settleCharge(h as Credits, charge).credits).toBeLessThanOrEqual(h);
      }),
    );
  });
});

describe('video', () => {
  it('charges per started second at the resolution price', () => {
    expect(right(videoCharge(sheet, 'sora-2', '1280x720', 8)).credits).toBe(80_000);
    expect(right(videoCharge(sheet, 'sora-2-pro', '1792x1024', 4.2)).credits).toBe(5 * 50_000);
    expect(videoCharge(sheet, 'sora-2', '1792x1024', 4)).toEqual(E.left({ _tag: 'UnknownResolution', model: 'sora-2', resolution: '1792x1024' }));
    expect(videoCharge(sheet, 'sora-2', '1280x720', 0)).toEqual(E.left({ _tag: 'InvalidDuration', seconds: 0 }));
  });
});
