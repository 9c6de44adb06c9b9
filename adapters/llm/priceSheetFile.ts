import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type { PriceSheet } from '../../domain/pricing/priceSheet.js';
import { decodePriceSheet } from '../../domain/pricing/priceSheet.js';

/**
 * The price sheet as an operator's file (PRICE_SHEET, default
 * config/prices.json relative to the working directory). It is read once at
 * start; `reload` reads it again and keeps the previous sheet when the new
 * file is unreadable or invalid, so a typo never stops metering.
 */

export const DEFAULT_PRICE_SHEET_PATH = 'config/prices.json';

export type PriceSheetLoadError =
  | { readonly _tag: 'PriceSheetUnreadable'; readonly path: string; readonly message: string }
  | { readonly _tag: 'PriceSheetInvalid'; readonly path: string; readonly problems: readonly string[] };

export const describePriceSheetError = (e: PriceSheetLoadError): string =>
  e._tag === 'PriceSheetUnreadable'
    ? `price sheet ${e.path} cannot be read: ${e.message}`
    : `price sheet ${e.path} is invalid: ${e.problems.join('; ')}`;

export const loadPriceSheetFile = (path: string): E.Either<PriceSheetLoadError, PriceSheet> => {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return E.left({ _tag: 'PriceSheetUnreadable', path, message: e instanceof Error ? e.message : String(e) });
  }
  return E.mapLeft((invalid: { problems: readonly string[] }): PriceSheetLoadError => ({
    _tag: 'PriceSheetInvalid',
    path,
    problems: invalid.problems,
  }))(decodePriceSheet(raw));
};

export type PriceSheetSource = {
  readonly path: string;
  readonly current: () => PriceSheet;
  /** Reads the file again; on failure the current sheet stays in force and the error is returned. */
  readonly reload: () => E.Either<PriceSheetLoadError, PriceSheet>;
};

export const makePriceSheetSource = (path: string, initial: PriceSheet): PriceSheetSource => {
  let sheet = initial;
  return {
    path,
    current: () => sheet,
    reload: () => {
      const next = loadPriceSheetFile(path);
      if (E.isRight(next)) sheet = next.right;
      return next;
    },
  };
};
